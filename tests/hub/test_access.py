"""Who may open and write: every refusal happens before any document byte is sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets
from pycrdt import Text

from collab.auth.tokens import mint_token
from collab.errors import CloseCode
from collab.protocol.control import Hello, Rejected, Reset
from collab.records import RecordKey
from tests.hub.conftest import DEMO_KEYS, preseed, run_core_hub
from tests.hub.ysync import YClient, sync_url, wait_for
from tests.support.server import RunningHub, hub_settings

RECORD = RecordKey("Sales", "Invoices", DEMO_KEYS[0])


@pytest.fixture
async def auth_hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with run_core_hub(hub_settings(tmp_path / "data")) as running:
        if running.ctx.auth is None:
            pytest.skip("the auth component is not installed")
        yield running


def _token(hub: RunningHub, *roles: str, records: tuple[str, ...] = ("Sales/Invoices/*",), ttl: int = 600) -> str:
    return mint_token(hub.settings.server.secret, sub="u1", name="User One", roles=roles, records=records, ttl_seconds=ttl)


async def _refused(url: str, **headers: str) -> YClient:
    client = YClient(url)
    client.ws = await websockets.connect(url, additional_headers=headers or None, compression=None)
    client._reader = asyncio.create_task(client._read())
    await client.wait_closed()
    assert client.frames_received == 0, "a refused client got document bytes"
    return client


async def test_missing_bad_and_out_of_scope_tokens(auth_hub: RunningHub) -> None:
    assert (await _refused(sync_url(auth_hub.ws_url, RECORD))).close_code == CloseCode.UNAUTHORIZED
    tampered = _token(auth_hub, "editor")[:-3] + "abc"
    assert (await _refused(sync_url(auth_hub.ws_url, RECORD, token=tampered))).close_code == CloseCode.UNAUTHORIZED
    other = _token(auth_hub, "editor", records=("Sales/Invoices/someone-else",))
    refused = await _refused(sync_url(auth_hub.ws_url, RECORD, token=other))
    assert refused.close_code == CloseCode.FORBIDDEN and refused.close_reason


async def test_unknown_layout_and_bad_origin(auth_hub: RunningHub) -> None:
    token = _token(auth_hub, "editor", records=("*",))
    url = sync_url(auth_hub.ws_url, RecordKey("Sales", "Nope", "k"), token=token)
    assert (await _refused(url)).close_code == CloseCode.NOT_FOUND
    url = sync_url(auth_hub.ws_url, RECORD, token=token)
    assert (await _refused(url, Origin="https://evil.example")).close_code == CloseCode.POLICY


async def test_viewer_is_read_only(auth_hub: RunningHub) -> None:
    RECORD = await preseed(auth_hub)
    editor = YClient(sync_url(auth_hub.ws_url, RECORD, token=_token(auth_hub, "editor")))
    viewer = YClient(sync_url(auth_hub.ws_url, RECORD, token=_token(auth_hub, "viewer"), control="1"))
    plain_viewer = YClient(sync_url(auth_hub.ws_url, RECORD, token=_token(auth_hub, "viewer")))
    for c in (editor, viewer, plain_viewer):
        await c.connect()
    await wait_for(lambda: all(c.synced.is_set() for c in (editor, viewer, plain_viewer)))
    hello = next(m for m in viewer.controls if isinstance(m, Hello))
    assert hello.can_write is False and hello.user == "u1"
    room = auth_hub.ctx.rooms.loaded(RECORD)
    before = room.values()["Notes"]
    await viewer.edit(lambda d: d.get("Notes", type=Text).insert(0, "viewer was here"))
    await wait_for(lambda: any(isinstance(m, Reset) for m in viewer.controls))
    assert any(isinstance(m, Rejected) for m in viewer.controls)
    await plain_viewer.edit(lambda d: d.get("Notes", type=Text).insert(0, "plain viewer"))
    assert await plain_viewer.wait_closed() == CloseCode.READ_ONLY
    # Neither edit was applied, stored or relayed; the editor still writes.
    await editor.edit(lambda d: d.get("Notes", type=Text).insert(0, "E:"))
    await wait_for(lambda: room.values()["Notes"] == "E:" + before)
    assert "viewer" not in editor.text()
    stored = await auth_hub.ctx.rooms.store.load(RECORD.room)
    assert stored is not None and all(b"viewer" not in u for u in stored.updates)
    await editor.close()
    await viewer.close()
