"""Changes made in FileMaker reach the live document: /refresh at once, polling otherwise."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from collab.document import apply_values
from collab.protocol.origin import Origin, OriginKind
from tests.hub.ysync import YClient, sync_url
from tests.persist.helpers import emulator_values, eventually, fast_settings, filemaker_values, record_key
from tests.support.server import RunningHub, run_hub

UUID6 = "8D1F5E2A-0006-4000-8000-000000000006"
UUID7 = "8D1F5E2A-0007-4000-8000-000000000007"


async def test_refresh_merges_at_once(tmp_path: Path) -> None:
    # Polling slowed right down, so only /refresh can bring the change in this fast.
    async with run_hub(fast_settings(tmp_path / "data", poll_min_ms=60_000, poll_max_ms=60_000)) as hub:
        emulator = hub.ctx.extras["emulator"]
        record = record_key(UUID7)
        record_id, _, before = await filemaker_values(hub, record)
        url = f"/api/records/Sales/Invoices/{UUID7}/refresh"
        async with (
            YClient(sync_url(hub.ws_url, record)) as client,
            httpx.AsyncClient(base_url=hub.url, timeout=10) as http,
        ):
            await eventually(client.synced.is_set)
            new_mod = emulator.user_edit("Sales", "Invoices", int(record_id), {"Notes": before["Notes"] + " (FM)"})
            assert (await http.post(url, headers={"X-API-Key": "wrong"})).status_code == 401
            response = await http.post(url, headers={"X-API-Key": hub.settings.server.api_key})
            assert response.status_code == 200, response.text
            assert response.json() == {"ok": True, "changed": ["Notes"], "mod_id": str(new_mod)}
            loop = asyncio.get_running_loop()
            answered = loop.time()
            await eventually(lambda: client.text() == before["Notes"] + " (FM)", timeout=1.0, what="client within 1 s")
            assert loop.time() - answered < 1.0
            again = await http.post(url, headers={"X-API-Key": hub.settings.server.api_key})
            assert again.json()["changed"] == []
            # A burst of notifications shares reads: at most two rounds for ten calls.
            emulator.user_edit("Sales", "Invoices", int(record_id), {"Customer": "Burst Co"})
            start = emulator.calls.last_seq
            burst = await asyncio.gather(
                *(http.post(url, headers={"X-API-Key": hub.settings.server.api_key}) for _ in range(10))
            )
            assert all(r.status_code == 200 for r in burst)
            assert sum(r.json()["changed"] == ["Customer"] for r in burst) >= 1
            reads = [e for e in emulator.calls.entries(since=start) if e.action in ("get", "find")]
            assert len(reads) <= 2 * 2, reads  # a read is a GET by recordId (or a find by key)
            await eventually(lambda: client.fields()["Customer"] == "Burst Co", timeout=1.0)
            missing = await http.post(
                "/api/records/Sales/Invoices/no-such-key/refresh", headers={"X-API-Key": hub.settings.server.api_key}
            )
            assert missing.status_code == 404 and missing.json()["code"] == "record_missing"
        # The merge came from FileMaker: nothing to write back.
        assert not hub.ctx.writeback.status(record)["pending"]


async def test_polling_brings_changes_and_slows_when_idle(hub: RunningHub) -> None:
    emulator = hub.ctx.extras["emulator"]
    record = record_key(UUID6)
    record_id, _, _ = await filemaker_values(hub, record)
    async with YClient(sync_url(hub.ws_url, record)) as client:
        await eventually(client.synced.is_set)
        emulator.user_edit("Sales", "Invoices", int(record_id), {"Notes": "typed in FileMaker Pro"})
        # poll_min_ms is 200 ms after activity: well within a second.
        await eventually(lambda: client.text() == "typed in FileMaker Pro", timeout=2.0, what="poll merged")
        # Idle: the interval doubles to poll_max_ms (800 ms), so 3 s see far fewer than 15 polls.
        start = emulator.calls.last_seq
        began = asyncio.get_running_loop().time()
        await eventually(lambda: asyncio.get_running_loop().time() - began > 3.0, timeout=5.0)
        polls = [e for e in emulator.calls.entries(since=start, action="get") if e.path.endswith(f"/{record_id}")]
        assert 2 <= len(polls) <= 7, len(polls)


async def test_status_fields_reach_filemaker(hub: RunningHub) -> None:
    """Approval state written into the document by the hub (not a client) is written back."""
    record = record_key(UUID6)
    record_id, _, _ = await filemaker_values(hub, record)
    async with hub.ctx.rooms.open(record) as room:
        await room.edit(
            lambda doc: apply_values(doc, room.layout, {"Status": "Approved", "ApprovedBy": "Dana Whitfield",
                                                        "ApprovedAt": "2026-03-01T10:00:00"}),
            Origin(OriginKind.SERVER, ident="locks"),
        )
    await eventually(lambda: emulator_values(hub, record_id)["Status"] == "Approved", what="status written")
    fm = emulator_values(hub, record_id)
    assert fm["ApprovedBy"] == "Dana Whitfield" and str(fm["ApprovedAt"]).startswith("2026-03-01")


async def test_total_polling_rate_is_bounded(tmp_path: Path) -> None:
    """Five open records that all want a poll every 100 ms still get at most 2 polls a second."""
    settings = fast_settings(tmp_path / "data", poll_min_ms=100, poll_max_ms=100, max_polls_per_second=2.0)
    async with run_hub(settings) as hub:
        emulator = hub.ctx.extras["emulator"]
        uuids = [f"8D1F5E2A-000{i}-4000-8000-00000000000{i}" for i in range(1, 6)]
        clients = [YClient(sync_url(hub.ws_url, record_key(u))) for u in uuids]
        for client in clients:
            await client.connect()
        try:
            await eventually(lambda: all(c.synced.is_set() for c in clients))
            start = emulator.calls.last_seq
            began = asyncio.get_running_loop().time()
            await eventually(lambda: asyncio.get_running_loop().time() - began > 3.0, timeout=5.0)
            polls = [e.time for e in emulator.calls.entries(since=start, action="get")]
        finally:
            for client in clients:
                await client.close()
    assert len(polls) >= 3, "polling goes on"
    for i, t in enumerate(polls):
        assert len([u for u in polls[i:] if u - t < 1.0]) <= 3, polls


async def test_change_made_while_the_hub_was_down_arrives_on_load(tmp_path: Path) -> None:
    """T6(e): FileMaker changed between two runs; the stored document catches up on load."""
    from collab.filemaker.emulator import Emulator

    settings = fast_settings(tmp_path / "data", poll_min_ms=60_000, poll_max_ms=60_000)
    record = record_key(UUID7)
    async with run_hub(settings) as hub:
        record_id, _, before = await filemaker_values(hub, record)
        async with YClient(sync_url(hub.ws_url, record)) as client:
            await eventually(client.synced.is_set)
    offline = Emulator(db=settings.data_path / "emulator.db")
    try:
        offline.user_edit("Sales", "Invoices", int(record_id), {"Notes": before["Notes"] + " (while down)"})
    finally:
        offline.close()
    async with run_hub(settings) as hub, YClient(sync_url(hub.ws_url, record)) as client:
        await eventually(lambda: client.text() == before["Notes"] + " (while down)", timeout=5, what="caught up")
        assert not hub.ctx.writeback.status(record)["pending"]
