"""Write-back end to end: a web client edits, FileMaker (the emulator) gets only what changed."""

from __future__ import annotations

import time
from pathlib import Path

from pycrdt import Map, Text

from collab.filemaker.emulator import DEMO_RECORD_UUID
from collab.protocol.control import Saved
from tests.hub.ysync import YClient, sync_url
from tests.persist.helpers import (
    FAST_WRITEBACK,
    converged,
    emulator_values,
    events_of,
    eventually,
    filemaker_values,
    record_key,
)
from tests.support.server import RunningHub, hub_settings, run_hub


async def test_edit_reaches_filemaker_with_saved_ack(hub: RunningHub) -> None:
    record = record_key(DEMO_RECORD_UUID)
    record_id, mod_id, before = await filemaker_values(hub, record)
    emulator = hub.ctx.extras["emulator"]
    async with YClient(sync_url(hub.ws_url, record, control="1")) as client:
        await eventually(client.synced.is_set, what="sync")
        assert client.text() == before["Notes"]
        await client.edit(lambda d: d.get("Notes", type=Text).insert(0, "Urgent: "))
        await client.edit(lambda d: d.get("fields", type=Map).__setitem__("Amount", 99.5))
        await eventually(
            lambda: emulator_values(hub, record_id)["Notes"] == "Urgent: " + before["Notes"]
            and emulator_values(hub, record_id)["Amount"] == 99.5,
            what="FileMaker has the edits",
        )
        await eventually(lambda: any(isinstance(m, Saved) for m in client.controls), what="saved ack")
        saved = [m for m in client.controls if isinstance(m, Saved)][-1]
        _, now_mod, after = await filemaker_values(hub, record)
        assert int(now_mod) > int(mod_id)
        assert set(saved.fields) <= {"Notes", "Amount"} and saved.state_vector
    status = hub.ctx.writeback.status(record)
    await eventually(lambda: not hub.ctx.writeback.status(record)["pending"], what="outbox drained")
    status = hub.ctx.writeback.status(record)
    assert status["last_saved_mod_id"] == now_mod and status["parked"] is False
    # Nothing else was touched: the key, the read-only serial, the customer.
    for name in ("UUID", "InvoiceNo", "Customer", "DueDate", "Status"):
        assert after[name] == before[name]
    assert converged(hub, record)["Notes"] == after["Notes"]
    # A client joining later is told at once what FileMaker last accepted.
    async with YClient(sync_url(hub.ws_url, record, control="1")) as late:
        await eventually(lambda: any(isinstance(m, Saved) and m.mod_id == now_mod for m in late.controls),
                         what="saved replayed to a new client")
    saved_events = await events_of(hub, record, "record.saved")
    assert saved_events and saved_events[-1]["payload"]["mod_id"] == now_mod
    assert emulator.calls.count("edit") >= 1


async def test_memory_store_backend_writes_back(tmp_path: Path) -> None:
    settings = hub_settings(
        tmp_path / "data", server={"allow_anonymous": True}, store={"backend": "memory"}, writeback=FAST_WRITEBACK
    )
    record = record_key(DEMO_RECORD_UUID)
    async with run_hub(settings) as hub:
        record_id, _, _ = await filemaker_values(hub, record)
        async with YClient(sync_url(hub.ws_url, record)) as client:
            await eventually(client.synced.is_set)
            await client.edit(lambda d: d.get("Notes", type=Text).insert(0, "mem "))
            await eventually(lambda: emulator_values(hub, record_id)["Notes"].startswith("mem "), what="saved")


async def test_default_settings_debounce_and_pace(tmp_path: Path) -> None:
    """Production timings: nothing is written during the 750 ms debounce, then once; a change
    made in FileMaker meanwhile is merged (306) and written within the 1 request/s pace."""
    settings = hub_settings(tmp_path / "data", server={"allow_anonymous": True})
    record = record_key(DEMO_RECORD_UUID)
    async with run_hub(settings) as hub:
        emulator = hub.ctx.extras["emulator"]
        record_id, _, before = await filemaker_values(hub, record)
        async with YClient(sync_url(hub.ws_url, record)) as client:
            await eventually(client.synced.is_set)
            start = emulator.calls.last_seq
            typed_at = time.time()
            await client.edit(lambda d: d.get("Notes", type=Text).insert(0, "A "))
            emulator.user_edit("Sales", "Invoices", int(record_id), {"Customer": "Set in FileMaker"})
            await eventually(lambda: emulator_values(hub, record_id)["Notes"] == "A " + before["Notes"],
                             timeout=10, what="written")
            await eventually(lambda: client.fields()["Customer"] == "Set in FileMaker", what="merged into the client")
            edits = emulator.calls.entries(since=start, action="edit")
            assert edits[0].time - typed_at >= 0.7, "the first write waits for the 750 ms debounce"
            times = [e.time for e in emulator.calls.entries(since=start) if e.path.endswith(f"/records/{record_id}")]
            assert all(b - a >= 0.9 for a, b in zip(times, times[1:], strict=False)), times  # 1 request/s
