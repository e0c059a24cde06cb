"""The DocStore contract, run against every implementation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from collab.errors import StoreError
from collab.rooms.sqlite_store import SqliteDocStore
from collab.rooms.store import DocStore, MemoryDocStore, new_meta
from collab.store.sqlite import SqliteDatabase


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DocStore]:
    if request.param == "memory":
        yield MemoryDocStore()
        return
    db = SqliteDatabase(tmp_path / "store.db", group_commit_ms=1)
    SqliteDocStore.register(db)
    async with db:
        yield SqliteDocStore(db)


def _updates(n: int) -> tuple[Doc, list[bytes]]:
    doc: Doc = Doc()
    text = doc.get("Notes", type=Text)
    out = []
    for i in range(n):
        before = doc.get_state()
        text.insert(len(str(text)), f"{i},")
        out.append(doc.get_update(before))
    return doc, out


def _replay(updates: list[bytes]) -> str:
    doc: Doc = Doc()
    for update in updates:
        doc.apply_update(update)
    return str(doc.get("Notes", type=Text))


async def test_unknown_room_loads_none(store: DocStore) -> None:
    assert await store.load("Sales/Invoices/none") is None


async def test_create_if_absent_keeps_the_first_seed(store: DocStore) -> None:
    _, (seed_a,) = _updates(1)
    _, (seed_b, _) = _updates(2)
    first, second = await asyncio.gather(
        store.create_if_absent("r", new_meta(1, 1), seed_a),
        store.create_if_absent("r", new_meta(2, 1), seed_b),
    )
    assert [first.created, second.created].count(True) == 1
    stored = await store.load("r")
    assert stored is not None
    winner = first if first.created else second
    assert stored.meta == winner.meta
    assert stored.updates == [seed_a if winner is first else seed_b]


async def test_append_is_ordered_and_durable(store: DocStore) -> None:
    doc, updates = _updates(30)
    await store.create_if_absent("r", new_meta(doc.client_id, 0), updates[0])
    futures = [store.append("r", [u]) for u in updates[1:10]]
    futures.append(store.append("r", updates[10:]))
    await asyncio.gather(*futures)
    stored = await store.load("r")
    assert stored is not None
    assert stored.updates == updates
    assert stored.log_count == 30 and stored.log_bytes == sum(map(len, updates))
    assert _replay(stored.updates) == str(doc.get("Notes", type=Text))


async def test_appends_of_many_rooms_in_one_turn_each_land(store: DocStore) -> None:
    """Appends made together (the SQLite store shares one insert job) each reach their room,
    and one caller giving up on its future does not drop the others'."""
    docs = {name: _updates(6) for name in ("a", "b", "c")}
    for name, (doc, updates) in docs.items():
        await store.create_if_absent(name, new_meta(doc.client_id, 0), updates[0])
    futures = {name: store.append(name, updates[1:]) for name, (_doc, updates) in docs.items()}
    futures["b"].cancel()
    await asyncio.wait([futures["a"], futures["c"]])
    for name, (_doc, updates) in docs.items():
        stored = await store.load(name)
        assert stored is not None and stored.updates == updates, name


async def test_compaction_replaces_the_log_in_call_order(store: DocStore) -> None:
    doc, updates = _updates(20)
    await store.create_if_absent("r", new_meta(doc.client_id, 0), updates[0])
    partial: Doc = Doc()
    for u in updates[:15]:
        partial.apply_update(u)
    # Queued without awaiting: compaction must only swallow what was appended before it.
    pending = [store.append("r", updates[1:15]), store.compact("r", partial.get_update()), store.append("r", updates[15:])]
    await asyncio.gather(*pending)
    stored = await store.load("r")
    assert stored is not None
    assert len(stored.updates) == 1 + 5
    assert stored.log_count == 5
    assert _replay(stored.updates) == str(doc.get("Notes", type=Text))


async def test_check_reports_healthy(store: DocStore) -> None:
    assert await store.check() is None


async def test_sqlite_schema_is_versioned_wal_full(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "v.db")
    SqliteDocStore.register(db)
    async with db:
        assert db.pragma("journal_mode") == "wal"
        assert db.pragma("synchronous") == 2
        version = await db.read(
            lambda c: c.execute("SELECT version FROM schema_versions WHERE component = 'rooms'").fetchone()[0]
        )
        assert version == 2
    # Reopening does not re-run the migration.
    db2 = SqliteDatabase(tmp_path / "v.db")
    SqliteDocStore.register(db2)
    async with db2:
        assert await SqliteDocStore(db2).check() is None


async def test_sqlite_store_appends_by_name_when_it_does_not_remember_the_room(tmp_path: Path) -> None:
    """A second store on the same file (another process, or a forgotten number) looks it up."""
    db = SqliteDatabase(tmp_path / "s.db", group_commit_ms=1)
    SqliteDocStore.register(db)
    doc, updates = _updates(8)
    async with db:
        first, second = SqliteDocStore(db), SqliteDocStore(db)
        await first.create_if_absent("a", new_meta(doc.client_id, 0), updates[0])
        await first.create_if_absent("b", new_meta(doc.client_id, 0), updates[0])
        # `second` never loaded either room: its rows carry names; both kinds share a job.
        await asyncio.gather(second.append("a", updates[1:4]), first.append("b", updates[1:4]))
        await second.append("a", updates[4:])
        for store in (first, second):
            stored = await store.load("a")
            assert stored is not None and stored.updates == updates
        stored_b = await first.load("b")
        assert stored_b is not None and stored_b.updates == updates[:4]
        with pytest.raises(StoreError, match="not in the store"):
            await second.append("never-created", updates[1:2])


async def test_sqlite_store_migrates_a_v1_log(tmp_path: Path) -> None:
    """A store written before the log was keyed by room number keeps every room and update."""
    import sqlite3

    from collab.rooms.sqlite_store import MIGRATIONS

    path = tmp_path / "v1.db"
    doc_a, updates_a = _updates(5)
    doc_b, updates_b = _updates(3)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    for statement in (part for part in MIGRATIONS[0].split(";") if part.strip()):
        conn.execute(statement)
    conn.execute("INSERT INTO schema_versions VALUES ('rooms', 1)")
    for room, snapshot in (("a", None), ("b", updates_b[0])):
        conn.execute(
            "INSERT INTO hub_rooms(room, seed_client, seed_clock, generation, created, snapshot) VALUES (?, 1, 1, 'g', 0, ?)",
            (room, snapshot),
        )
    # Interleaved, as rooms append in a live hub.
    for i in range(5):
        for room, updates in (("a", updates_a), ("b", updates_b[1:])):
            if i < len(updates):
                conn.execute("INSERT INTO hub_updates(room, data) VALUES (?, ?)", (room, updates[i]))
    conn.close()

    db = SqliteDatabase(path, group_commit_ms=1)
    SqliteDocStore.register(db)
    async with db:
        store = SqliteDocStore(db)
        a, b = await store.load("a"), await store.load("b")
        assert a is not None and a.updates == updates_a and a.log_count == 5
        assert b is not None and b.updates == updates_b and b.log_count == 2
        more_doc, more = _updates(2)
        created = await store.create_if_absent("c", new_meta(more_doc.client_id, 0), more[0])
        await store.append("a", [more[1]])
        assert created.created and created.updates == [more[0]]
        a = await store.load("a")
        assert a is not None and a.updates == [*updates_a, more[1]]
        nums = await db.read(lambda c: c.execute("SELECT room, num FROM hub_rooms ORDER BY num").fetchall())
        assert nums == [("a", 1), ("b", 2), ("c", 3)]
