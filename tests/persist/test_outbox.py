"""One contract for every Outbox: the memory one and the SQLite one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from collab.persist.outbox import Base, MemoryOutbox, Outbox
from collab.persist.sqlite_outbox import MIGRATIONS, SqliteOutbox
from collab.records import RecordKey
from collab.store.sqlite import SqliteDatabase

R1 = RecordKey("Sales", "Invoices", "u-1")
R2 = RecordKey("Sales", "Invoices", "u/2 é")


@pytest.fixture(params=["memory", "sqlite"])
async def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Outbox]:
    if request.param == "memory":
        yield MemoryOutbox()
        return
    db = SqliteDatabase(tmp_path / "collab.db")
    db.register("persist", MIGRATIONS)
    async with db:
        yield SqliteOutbox(db)


async def test_edits_coalesce_into_one_row(outbox: Outbox) -> None:
    first = await outbox.mark_dirty(R1, 100.0)
    for now in (101.0, 102.0, 103.0):
        row = await outbox.mark_dirty(R1, now)
    assert row.generation == first.generation + 3
    assert row.dirty_since == 100.0  # the first unsaved edit, not the last
    rows = await outbox.pending()
    assert [r.record for r in rows] == [R1]


async def test_clear_only_if_no_edit_came_in(outbox: Outbox) -> None:
    row = await outbox.mark_dirty(R1, 1.0)
    newer = await outbox.mark_dirty(R1, 2.0)
    assert not await outbox.clear(R1, row.generation)
    assert await outbox.clear(R1, newer.generation)
    assert await outbox.pending() == []
    assert not await outbox.clear(R1)


async def test_update_keeps_generation_and_marks_parked(outbox: Outbox) -> None:
    row = await outbox.mark_dirty(R2, 5.0)
    await outbox.update(
        type(row)(record=R2, dirty_since=0, generation=999, attempts=2, next_attempt_at=9.5,
                  last_error="validation: no", parked=True)
    )
    (stored,) = await outbox.pending()
    assert (stored.attempts, stored.parked, stored.last_error) == (2, True, "validation: no")
    assert stored.generation == row.generation and stored.dirty_since == 5.0
    assert outbox.peek(R2)[0] == stored


async def test_base_and_clear_in_one_commit(outbox: Outbox) -> None:
    row = await outbox.mark_dirty(R1, 1.0)
    base = Base(record=R1, record_id="7", mod_id="3", values={"Notes": "hé", "Amount": 1.5},
                saved_at=12.0, saved_mod_id="3")
    assert await outbox.set_base(base, clear_generation=row.generation)
    pending, stored = outbox.peek(R1)
    assert pending is None and stored == base
    later = Base(record=R1, record_id="7", mod_id="4", values={"Notes": "x"})
    assert not await outbox.set_base(later)
    assert outbox.peek(R1)[1] == later
    assert outbox.peek(R2) == (None, None)


async def test_sqlite_rows_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "collab.db"
    db = SqliteDatabase(path)
    db.register("persist", MIGRATIONS)
    async with db:
        box = SqliteOutbox(db)
        await box.mark_dirty(R1, 1.0)
        await box.set_base(Base(record=R1, record_id="1", mod_id="0", values={"Notes": ""}))
    again = SqliteDatabase(path)
    again.register("persist", MIGRATIONS)
    async with again:
        box = SqliteOutbox(again)
        assert [r.record for r in await box.pending()] == [R1]
        assert box.peek(R1)[1] is not None
