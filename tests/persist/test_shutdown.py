"""Graceful shutdown (reliability.md T19): flush within the deadline, keep the rest for next start."""

from __future__ import annotations

from pathlib import Path

from collab.document import apply_values
from collab.protocol.origin import Origin, OriginKind
from tests.persist.helpers import emulator_values, eventually, fast_settings, filemaker_values, record_key
from tests.support.server import run_hub

UUID3 = "8D1F5E2A-0003-4000-8000-000000000003"
EDITOR = Origin(OriginKind.SERVER, ident="test", user="tester")


async def test_shutdown_flushes_before_the_debounce(tmp_path: Path) -> None:
    # A 10 s debounce: only the shutdown flush can have written this in time.
    settings = fast_settings(tmp_path / "data", debounce_ms=10_000, ceiling_ms=20_000)
    record = record_key(UUID3)
    async with run_hub(settings) as hub:
        record_id, _, _ = await filemaker_values(hub, record)
        async with hub.ctx.rooms.open(record) as room:
            await room.edit(lambda doc: apply_values(doc, room.layout, {"Notes": "flushed on shutdown"}), EDITOR)
        assert hub.ctx.writeback.status(record)["pending"]
        emulator = hub.ctx.extras["emulator"]
    assert emulator_values_from(emulator, record_id)["Notes"] == "flushed on shutdown"


def emulator_values_from(emulator: object, record_id: str) -> dict[str, object]:
    row = emulator.record("Sales", "Invoices", int(record_id))  # type: ignore[attr-defined]
    return dict(row["fieldData"])


async def test_unflushed_rows_resume_on_next_start(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "data", shutdown_flush_seconds=0.3)
    record = record_key(UUID3)
    async with run_hub(settings) as hub:
        record_id, _, _ = await filemaker_values(hub, record)
        async with hub.ctx.rooms.open(record) as room:
            hub.ctx.extras["emulator"].set_outage("502")  # FileMaker is down when we stop
            await room.edit(lambda doc: apply_values(doc, room.layout, {"Notes": "kept for the next start"}), EDITOR)
            await eventually(lambda: hub.ctx.writeback.status(record)["waiting_reason"] == "filemaker_unreachable")
    # The next start (FileMaker is back: a fresh emulator on the same file) resumes the row.
    async with run_hub(settings) as hub:
        await eventually(
            lambda: emulator_values(hub, record_id)["Notes"] == "kept for the next start", what="resumed write"
        )
        await eventually(lambda: not hub.ctx.writeback.status(record)["pending"], what="outbox drained")
