"""reliability.md T9, CI-sized: the emulator's fault injection against live write-back.

Each test ends the faults and then checks that FileMaker holds exactly the hub's converged
values (nothing lost), plus the figure the fault is about: waiting states, logins, backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pycrdt import Doc, Map, Text

from collab.filemaker.emulator import DEMO_RECORD_UUID
from collab.protocol.control import FieldError, Waiting
from collab.records import RecordKey
from tests.hub.ysync import YClient, sync_url
from tests.persist.helpers import (
    converged,
    emulator_values,
    events_of,
    eventually,
    fast_settings,
    filemaker_values,
    record_key,
)
from tests.support.server import RunningHub, run_hub

UUIDS = [f"8D1F5E2A-000{i}-4000-8000-00000000000{i}" for i in range(1, 6)]
assert UUIDS[0] == DEMO_RECORD_UUID
WRITABLE = ("Customer", "Notes", "Amount", "DueDate")


def append(text: str) -> Callable[[Doc[Any]], None]:
    def change(doc: Doc[Any]) -> None:
        notes = doc.get("Notes", type=Text)
        notes.insert(len(str(notes).encode()), text)

    return change


def set_field(name: str, value: Any) -> Callable[[Doc[Any]], None]:
    return lambda doc: doc.get("fields", type=Map).__setitem__(name, value)


async def in_filemaker(hub: RunningHub, record: RecordKey, record_id: str) -> bool:
    """Does FileMaker hold the hub's converged values for every writable field?"""
    fm = emulator_values(hub, record_id)
    ours = converged(hub, record)
    _, _, doc_form = await filemaker_values(hub, record)
    return all(doc_form.get(name) == ours.get(name) for name in WRITABLE) and fm["Notes"] == ours["Notes"]


async def test_record_in_use_waits_and_resumes(hub: RunningHub) -> None:
    emulator = hub.ctx.extras["emulator"]
    record = record_key(UUIDS[1])
    record_id, _, _ = await filemaker_values(hub, record)
    emulator.lock_record("Sales", "Invoices", int(record_id))
    async with YClient(sync_url(hub.ws_url, record, control="1")) as client:
        await eventually(client.synced.is_set)
        await client.edit(append(" [while locked]"))
        await eventually(
            lambda: any(isinstance(m, Waiting) and m.reason == "record_in_use" for m in client.controls),
            what="waiting: record_in_use",
        )
        assert hub.ctx.writeback.status(record)["waiting_reason"] == "record_in_use"
        assert "[while locked]" not in emulator_values(hub, record_id)["Notes"]
        emulator.unlock_record("Sales", "Invoices", int(record_id))
        await eventually(lambda: "[while locked]" in emulator_values(hub, record_id)["Notes"], what="saved after unlock")
    await eventually(lambda: in_filemaker(hub, record, record_id), what="converged in FileMaker")
    await eventually(lambda: hub.ctx.writeback.status(record)["waiting_reason"] == "", what="waiting cleared")


async def test_modid_mismatch_merges_filemaker_change(tmp_path: Path) -> None:
    """306: the hub re-reads, merges FileMaker's edit into the document, then writes again."""
    # Polling off (60 s), so the FileMaker-side change can only come in through the 306.
    settings = fast_settings(tmp_path / "data", poll_min_ms=60_000, poll_max_ms=60_000)
    async with run_hub(settings) as hub:
        emulator = hub.ctx.extras["emulator"]
        record = record_key(UUIDS[2])
        record_id, _, before = await filemaker_values(hub, record)
        async with YClient(sync_url(hub.ws_url, record, control="1")) as client:
            await eventually(client.synced.is_set)
            # Hold the hub's write back with the FileMaker Pro user's lock while they edit.
            emulator.lock_record("Sales", "Invoices", int(record_id))
            await client.edit(append(" HUB"))
            await client.edit(set_field("Amount", 1.0))
            await eventually(lambda: hub.ctx.writeback.status(record)["waiting_reason"] == "record_in_use")
            emulator.user_edit("Sales", "Invoices", int(record_id),
                               {"Notes": "FM " + before["Notes"], "Customer": "Changed Co", "Amount": 2})
            emulator.unlock_record("Sales", "Invoices", int(record_id))
            expected_notes = "FM " + before["Notes"] + " HUB"
            await eventually(lambda: emulator_values(hub, record_id)["Notes"] == expected_notes, what="merged notes")
            await eventually(lambda: client.text() == expected_notes and client.fields()["Customer"] == "Changed Co",
                             what="client shows FileMaker's change")
            await eventually(lambda: in_filemaker(hub, record, record_id), what="converged in FileMaker")
            # Amount changed on both sides: the hub's value wins (default policy), FileMaker's is kept.
            assert emulator_values(hub, record_id)["Amount"] == 1
        edits = emulator.calls.entries(action="edit")
        assert any(e.code == "306" for e in edits), "the hub's write must have met the 306"
        conflicts = await events_of(hub, record, "record.conflict")
        assert conflicts, "the merge is recorded"
        lost = [c for e in conflicts for c in e["payload"]["conflicts"] if c["field"] == "Amount"]
        assert lost and lost[0]["kept"] == "hub" and lost[0]["overwritten"] == 2


async def test_token_expiry_costs_one_login_each(hub: RunningHub) -> None:
    emulator = hub.ctx.extras["emulator"]
    records = [record_key(u) for u in UUIDS[:3]]
    ids = [(await filemaker_values(hub, r))[0] for r in records]
    clients = [YClient(sync_url(hub.ws_url, r, control="1")) for r in records]
    for client in clients:
        await client.connect()
    try:
        await eventually(lambda: all(c.synced.is_set() for c in clients))
        expiries = 3
        for round_ in range(expiries):
            start = emulator.calls.last_seq
            emulator.kill_tokens()
            for client in clients:  # three records write at once after every expiry
                await client.edit(append(f" r{round_}"))
            await eventually(
                lambda m=f" r{round_}": all(m in emulator_values(hub, rid)["Notes"] for rid in ids),
                what=f"round {round_} saved",
            )
            assert emulator.calls.count("login", since=start) == 1, "one single-flight login per expiry"
        for record, rid in zip(records, ids, strict=True):
            await eventually(lambda r=record, i=rid: in_filemaker(hub, r, i))
    finally:
        for client in clients:
            await client.close()


async def test_outage_and_stall_back_off_then_resume(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "data", backoff_initial_ms=100, backoff_max_ms=400)
    async with run_hub(settings) as hub:
        emulator = hub.ctx.extras["emulator"]
        records = [record_key(u) for u in UUIDS[:3]]
        ids = [(await filemaker_values(hub, r))[0] for r in records]
        clients = [YClient(sync_url(hub.ws_url, r, control="1")) for r in records]
        for client in clients:
            await client.connect()
        try:
            await eventually(lambda: all(c.synced.is_set() for c in clients))
            start = emulator.calls.last_seq
            def refused_writes(rid: str) -> int:
                return sum(
                    1 for e in emulator.calls.entries(since=start, action="outage")
                    if e.method == "PATCH" and e.path.endswith(f"/records/{rid}")
                )

            # Connection refused, then the web server's 503/502 page: several retries each.
            for mode, rounds, retries in (("refused", range(3), 3), ("502", range(3, 6), 6)):
                emulator.set_outage(mode)
                for n in rounds:
                    for client in clients:
                        await client.edit(append(f" o{n}"))
                await eventually(lambda r=retries: all(refused_writes(rid) >= r for rid in ids),
                                 what=f"retries during the {mode} outage")
            await eventually(
                lambda: all(any(isinstance(m, Waiting) and m.reason == "filemaker_unreachable" for m in c.controls)
                            for c in clients),
                what="clients told FileMaker is unreachable",
            )
            rows = hub.ctx.db.read_sync(
                lambda c: c.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM persist_outbox").fetchone()
            )
            assert rows == (3, 3), "18 edits while FileMaker is down: still one outbox row per record"
            emulator.set_outage(None)
            emulator.stall(1.5)  # longer than filemaker.timeout_seconds (1 s): calls time out
            for client in clients:
                await client.edit(append(" stalled"))
            await eventually(lambda: emulator.calls.count(since=start) > 12, what="calls during the stall")
            emulator.stall(0)
            for record, rid in zip(records, ids, strict=True):
                await eventually(lambda r=record, i=rid: in_filemaker(hub, r, i), what="resumed")
                assert all(f" o{n}" in emulator_values(hub, rid)["Notes"] for n in range(6))
            await eventually(lambda: all(not hub.ctx.writeback.status(r)["pending"] for r in records),
                             what="outbox drained")
        finally:
            for client in clients:
                await client.close()
        _check_pacing(emulator.calls.entries(since=start), ids, settings.writeback)


def _check_pacing(entries: list[Any], ids: list[str], wb: Any) -> None:
    """Backoff within [initial, max] between a record's failed writes; rate caps respected."""
    # Outage answers are immediate, so the gaps between them are the hub's own waits. (During
    # the stall a call is logged when the emulator finally answers, long after the hub gave up.)
    failed = [e for e in entries if e.method == "PATCH" and e.action == "outage"]
    assert failed, "the outage must have met some writes"
    for rid in ids:
        times = [e.time for e in failed if e.path.endswith(f"/records/{rid}")]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert gaps, "each record retried during the outage"
        slack = 0.05
        assert all(g >= wb.backoff_initial_ms / 1000 - slack for g in gaps), gaps
        assert all(g <= wb.backoff_max_ms / 1000 + 0.3 for g in gaps), gaps
    for rid in ids:
        times = [e.time for e in entries if f"/records/{rid}" in e.path]
        for i, t in enumerate(times):
            window = [u for u in times[i:] if u - t < 1.0]
            assert len(window) <= wb.max_requests_per_second_per_record + 1
    # The test's own checks read FileMaker with finds; the hub's traffic is record GETs and PATCHes.
    times = [e.time for e in entries if "/records/" in e.path]
    for i, t in enumerate(times):
        assert len([u for u in times[i:] if u - t < 1.0]) <= wb.max_requests_per_second + 1


async def test_validation_error_parks_only_that_record(hub: RunningHub) -> None:
    emulator = hub.ctx.extras["emulator"]
    bad, good = record_key(UUIDS[3]), record_key(UUIDS[4])
    bad_id, _, before = await filemaker_values(hub, bad)
    good_id, _, _ = await filemaker_values(hub, good)
    start = emulator.calls.last_seq
    async with YClient(sync_url(hub.ws_url, bad, control="1")) as a, YClient(sync_url(hub.ws_url, good)) as b:
        await eventually(lambda: a.synced.is_set() and b.synced.is_set())
        await a.edit(set_field("Customer", "x" * 150))  # the field allows 100 characters: 511
        await b.edit(append(" fine"))
        await eventually(lambda: hub.ctx.writeback.status(bad)["parked"], what="bad record parked")
        status = hub.ctx.writeback.status(bad)
        assert "Customer" in status["field_errors"] and status["pending"] is False
        errors = [m for m in a.controls if isinstance(m, FieldError)]
        assert errors and errors[0].field == "Customer"
        await eventually(lambda: emulator_values(hub, good_id)["Notes"].endswith(" fine"), what="other record saved")
        attempts = [e for e in emulator.calls.entries(since=start, action="edit") if e.path.endswith(f"/{bad_id}")]
        assert len(attempts) == hub.settings.writeback.validation_attempts
        assert emulator_values(hub, bad_id)["Customer"] == before["Customer"]
        assert converged(hub, bad)["Customer"] == "x" * 150  # the document keeps the value
        # Fixing the field gives the record another chance.
        await a.edit(set_field("Customer", "Short Name Ltd"))
        await eventually(lambda: emulator_values(hub, bad_id)["Customer"] == "Short Name Ltd", what="fixed value saved")
        assert not hub.ctx.writeback.status(bad)["parked"]


async def test_record_deleted_in_filemaker_is_parked(hub: RunningHub) -> None:
    record = record_key(UUIDS[4])
    record_id, _, _ = await filemaker_values(hub, record)
    async with YClient(sync_url(hub.ws_url, record, control="1")) as client:
        await eventually(client.synced.is_set)
        await hub.ctx.filemaker.client("Sales").delete_record("Invoices", record_id)
        await client.edit(append(" after delete"))
        await eventually(lambda: hub.ctx.writeback.status(record)["parked"], what="parked")
        status = hub.ctx.writeback.status(record)
        assert "deleted in FileMaker" in status["last_error"] and not status["pending"]
        await eventually(
            lambda: any(isinstance(m, Waiting) and m.reason == "record_missing" for m in client.controls),
            what="client told",
        )
        assert "after delete" in converged(hub, record)["Notes"]  # the document keeps the edit
