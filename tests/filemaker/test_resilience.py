"""Sessions and locks under pressure: token expiry, restarts, records held open in FileMaker Pro.

These need emulator control (the clock, the call log, a simulated FileMaker Pro user).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from collab.filemaker.client import DataAPIClient
from collab.filemaker.emulator import Emulator
from collab.filemaker.errors import InvalidLogin, InvalidToken, RecordInUse
from tests.filemaker.conftest import Target

LAYOUT = "Invoices"


async def _first_record_id(target: Target) -> str:
    client = target.client()
    found = await client.get_records(LAYOUT, limit=1)
    await client.aclose()
    return found.records[0].record_id


async def test_ten_concurrent_calls_after_expiry_cause_exactly_one_login(emulator_target: Target) -> None:
    emulator = emulator_target.require_emulator()
    client = emulator_target.client()
    await client.login()
    emulator.advance_clock(16 * 60)  # past the 15-minute idle expiry
    before = emulator.calls.count("login")

    results = await asyncio.gather(*(client.get_records(LAYOUT, limit=1) for _ in range(10)))

    assert all(len(found.records) == 1 for found in results)
    assert emulator.calls.count("login") - before == 1
    # every call was tried once with the dead token and replayed once with the new one
    assert emulator.calls.count("range") >= 20


async def test_restart_kills_tokens_and_the_client_recovers(emulator_target: Target) -> None:
    emulator = emulator_target.require_emulator()
    client = emulator_target.client()
    await client.layouts()
    emulator.restart()
    assert LAYOUT in await client.layouts()
    assert emulator.calls.count("login") == 2


class _KillsTokensAfterLogin(httpx.AsyncHTTPTransport):
    """Real HTTP, but every new token dies at once: each replay meets 952 again."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__()
        self.emulator = emulator

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/sessions"):
            self.emulator.kill_tokens()
        return response


async def test_one_952_is_one_relogin_and_one_replay(emulator_target: Target) -> None:
    emulator = emulator_target.require_emulator()
    client = emulator_target.client()
    await client.login()
    emulator.fail_next(1, "952", 401)
    assert LAYOUT in await client.layouts()
    assert emulator.calls.count("login") == 2
    assert emulator.calls.count("layouts") == 2


async def test_replay_happens_only_once(emulator_target: Target) -> None:
    emulator = emulator_target.require_emulator()
    client = emulator_target.client(transport=_KillsTokensAfterLogin(emulator))
    with pytest.raises(InvalidToken):
        await client.layouts()
    assert emulator.calls.count("login") == 2  # the lazy login and one re-login, no loop
    assert emulator.calls.count("layouts") == 2  # the call and its single replay


async def test_record_held_open_gets_301_after_the_retries(emulator_target: Target) -> None:
    emulator = emulator_target.require_emulator()
    record_id = await _first_record_id(emulator_target)
    client = emulator_target.client(retry_in_use=2, retry_backoff=0.05)
    emulator.lock_record("Sales", LAYOUT, int(record_id))
    before = emulator.calls.count("edit")

    with pytest.raises(RecordInUse) as caught:
        await client.edit_record(LAYOUT, record_id, {"Notes": "blocked"}, mod_id=None)

    assert caught.value.code == 301
    assert emulator.calls.count("edit") - before == 3  # the first try and two retries
    emulator.unlock_record("Sales", LAYOUT, int(record_id))
    await client.edit_record(LAYOUT, record_id, {"Notes": "now it works"}, mod_id=None)


async def test_lock_released_during_the_retries_succeeds(emulator_target: Target) -> None:
    emulator = emulator_target.require_emulator()
    record_id = await _first_record_id(emulator_target)
    client = emulator_target.client(retry_in_use=10, retry_backoff=0.05)
    emulator.lock_record("Sales", LAYOUT, int(record_id))
    before = emulator.calls.count("edit")
    edit = asyncio.create_task(client.edit_record(LAYOUT, record_id, {"Notes": "patient"}, mod_id=None))
    while emulator.calls.count("edit") - before < 2:  # it has met the lock at least twice
        await asyncio.sleep(0.01)
    emulator.unlock_record("Sales", LAYOUT, int(record_id))
    new_mod = await edit
    record = await client.get_record(LAYOUT, record_id)
    assert (record.mod_id, record.field_data["Notes"]) == (new_mod, "patient")


async def test_globals_are_set_again_after_a_relogin(emulator_target: Target) -> None:
    emulator = emulator_target.require_emulator()
    client = emulator_target.client()
    await client.set_globals({"Invoices::gCompany": "Acme"})
    emulator.restart()
    await client.layouts()
    assert emulator.calls.count("globals") == 2


async def test_a_refused_account_is_not_retried_on_every_call(emulator_target: Target) -> None:
    emulator = emulator_target.require_emulator()
    client = DataAPIClient(emulator_target.url, "Sales", "admin", "not-the-password")
    try:
        for _ in range(3):
            with pytest.raises(InvalidLogin):
                await client.layouts()
    finally:
        await client.aclose()
    assert emulator.calls.count("login") == 1  # FileMaker counts failed logins; we do not pile on
