"""One contract for both EventStores, and the EventLog's ordering and wake-up on top of them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from collab.auth.principal import Principal
from collab.events.log import EventLog
from collab.events.model import Event, EventFilter
from collab.events.store import EventStore, MemoryEventStore, SqliteEventStore
from collab.metrics import Metrics
from collab.records import RecordKey
from collab.settings import EventSettings
from collab.store.sqlite import SqliteDatabase

ALL = Principal(sub="admin", roles=frozenset({"admin"}), records=("*",))
A = RecordKey("Sales", "Invoices", "A")
B = RecordKey("Sales", "Invoices", "B")
C = RecordKey("Sales", "Other", "C")


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    if request.param == "memory":
        yield MemoryEventStore()
        return
    db = SqliteDatabase(tmp_path / "events.db")
    SqliteEventStore.register(db)
    async with db:
        yield SqliteEventStore(db)


def event(seq: int, type: str = "lock.changed", record: RecordKey | None = A, actor: str = "alice",
          at: float | None = None, concerns: tuple[str, ...] = ()) -> Event:
    return Event(seq=seq, type=type, record=record.room if record else None,
                 layout=record.layout_path if record else None, actor=actor,
                 at=time.time() if at is None else at, payload={"n": seq, "nested": {"x": [1, "a"]}},
                 concerns=concerns)


async def test_append_and_read_in_order(store: EventStore) -> None:
    assert await store.last_seq() == 0
    for seq in range(1, 6):
        await store.append(event(seq, record=A if seq % 2 else B))
    assert await store.last_seq() == 5
    got = await store.after(0, 5, EventFilter(), 100)
    assert [e.seq for e in got] == [1, 2, 3, 4, 5]
    assert got[0].payload == {"n": 1, "nested": {"x": [1, "a"]}}
    assert [e.seq for e in await store.after(1, 4, EventFilter(), 100)] == [2, 3, 4]
    assert [e.seq for e in await store.after(0, 5, EventFilter(), 2)] == [1, 2]


async def test_filters(store: EventStore) -> None:
    await store.append(event(1, record=A, actor="alice"))
    await store.append(event(2, "record.saved", record=B, actor="bob", concerns=("alice",)))
    await store.append(event(3, "comment.added", record=C, actor="carol"))
    await store.append(event(4, "record.saved", record=None, actor="hub"))

    async def seqs(f: EventFilter) -> list[int]:
        return [e.seq for e in await store.after(0, 10, f, 100)]

    assert await seqs(EventFilter(record=B.room)) == [2]
    assert await seqs(EventFilter(layout="Sales/Invoices")) == [1, 2]
    assert await seqs(EventFilter(types=frozenset({"record.saved", "comment.added"}))) == [2, 3, 4]
    assert await seqs(EventFilter(user="alice")) == [1, 2]
    assert await seqs(EventFilter(user="ali")) == []
    assert await seqs(EventFilter(user="bob", layout="Sales/Invoices")) == [2]


async def test_prune_by_age_and_count_keeps_the_sequence(store: EventStore) -> None:
    old = time.time() - 10 * 86_400
    for seq in range(1, 4):
        await store.append(event(seq, at=old))
    for seq in range(4, 11):
        await store.append(event(seq))
    assert await store.prune(time.time() - 86_400, 5) == 5
    assert [e.seq for e in await store.after(0, 100, EventFilter(), 100)] == [6, 7, 8, 9, 10]
    assert await store.prune(time.time() + 1, 5) == 5  # everything is now too old
    assert await store.last_seq() == 10  # numbers never go back, even with an empty log


async def test_latest(store: EventStore) -> None:
    for seq in range(1, 6):
        await store.append(event(seq, "approval.changed" if seq != 3 else "lock.changed"))
    assert [e.seq for e in await store.latest("approval.changed", 2)] == [5, 4]


async def test_log_orders_concurrent_emits_and_wakes_waiters(store: EventStore) -> None:
    log = EventLog(store, EventSettings(max_subscriber_backlog=4), Metrics())
    await log.start()
    try:
        waiter = asyncio.create_task(log.wait(log.head, EventFilter(record=B.room), ALL, 10))
        await asyncio.gather(*(log.emit("record.saved", A, {"i": i}, actor="x") for i in range(20)))
        assert not waiter.done()
        seq = await log.emit("record.saved", B, {"i": "b"}, actor="y")
        page = await asyncio.wait_for(waiter, 5)
        assert [e.seq for e in page.events] == [seq] and page.next == seq
        # The ring holds 4; older events come from the store, pages of at most 4, no gaps.
        seen: list[int] = []
        cursor = 0
        while True:
            page = await log.read(cursor, EventFilter(), ALL)
            seen += [e.seq for e in page.events]
            cursor = page.next
            if not page.more:
                break
        assert seen == list(range(1, 22))
        assert (await log.read(0, EventFilter(), ALL, limit=3)).next == 3
    finally:
        await log.stop()


async def test_scope_hides_records(store: EventStore) -> None:
    log = EventLog(store, EventSettings(max_subscriber_backlog=2), Metrics())
    await log.start()
    try:
        only_b = Principal(sub="bob", roles=frozenset({"editor"}), records=("Sales/Invoices/B",))
        for _ in range(5):
            await log.emit("lock.changed", A, {})
        last = await log.emit("lock.changed", B, {})
        page = await log.read(0, EventFilter(), only_b)
        assert [e.record for e in page.events] == [B.room] and page.next == last
        assert (await log.wait(last, EventFilter(), only_b, 0.05)).events == []
    finally:
        await log.stop()


async def test_submitter_is_concerned_by_later_events(store: EventStore) -> None:
    log = EventLog(store, EventSettings(), Metrics())
    await log.start()
    try:
        await log.emit("approval.changed", A, {"state": "submitted"}, actor="sam")
        approved = await log.emit("approval.changed", A, {"state": "approved"}, actor="ann")
        await log.emit("approval.changed", B, {"state": "approved"}, actor="ann")
        page = await log.read(0, EventFilter(user="sam", types=frozenset({"approval.changed"})), ALL)
        assert [e.seq for e in page.events] == [1, approved]
    finally:
        await log.stop()
    # A restarted log remembers who submitted (rebuilt from the store).
    again = EventLog(store, EventSettings(), Metrics())
    await again.start()
    try:
        seq = await again.emit("record.saved", A, {}, actor="hub")
        assert (await again.read(seq - 1, EventFilter(user="sam"), ALL)).events[0].seq == seq
    finally:
        await again.stop()


class FailingOnce(MemoryEventStore):
    """A store whose next append fails (a full disk, say)."""

    fail_next = False

    async def append(self, event: Event) -> None:
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk full")
        await super().append(event)


async def test_a_failed_append_is_skipped_and_later_events_still_flow() -> None:
    store = FailingOnce()
    log = EventLog(store, EventSettings(), Metrics())
    await log.start()
    try:
        first = await log.emit("lock.changed", A, {}, actor="a")
        store.fail_next = True
        with pytest.raises(OSError):
            await log.emit("lock.changed", A, {}, actor="b")
        third = await log.emit("lock.changed", A, {}, actor="c")
        page = await log.read(0, EventFilter(), ALL)
        assert [e.seq for e in page.events] == [first, third] and page.next == third == log.head
    finally:
        await log.stop()


async def test_a_cancelled_emitter_does_not_hide_its_event(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "events.db")
    SqliteEventStore.register(db)
    async with db:
        log = EventLog(SqliteEventStore(db), EventSettings(), Metrics())
        await log.start()
        try:
            emitter = asyncio.create_task(log.emit("record.saved", A, {"n": 1}, actor="x"))
            await asyncio.sleep(0)  # let it submit its append, then cancel the caller mid-commit
            emitter.cancel()
            page = await log.wait(0, EventFilter(), ALL, 5)
            assert [e.payload for e in page.events] == [{"n": 1}]
        finally:
            await log.stop()
