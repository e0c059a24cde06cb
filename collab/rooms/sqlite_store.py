"""``DocStore`` on the shared SQLite database (WAL, synchronous=FULL, group commit).

Tables (component ``rooms``):

- ``hub_rooms``: one row per room with the seed's client id and clock, the generation, the
  creation time, the current snapshot, and ``num``, the room's small integer key;
- ``hub_log``: the append-only log, ``(room num, data)``, ordered by its integer key.

The log is keyed by ``num``, not the room's name: every group commit touches one index page per
busy room, and an 8-byte key instead of a ~50-byte name makes those pages, the rows and the
commit's WAL frames smaller (about a third less writer CPU per update; docs/performance.md).
The store remembers the ``num`` of the rooms it loaded or created (bounded, oldest dropped);
an append for a room it does not remember looks the number up in the writer.

``append`` and ``compact`` are queued into the database writer when called, so they commit in
call order (see ``collab.rooms.store``). The appends of every room made while one insert job
waits in the writer's queue join that job (one ``executemany`` per batch, not one job per room
and turn); ``compact`` seals it, so an append made after a compaction lands after it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Sequence
from functools import partial

from collab.errors import StoreError
from collab.rooms.store import RoomMeta, StoredRoom
from collab.store.sqlite import SqliteDatabase

__all__ = ["MIGRATIONS", "SqliteDocStore"]

MIGRATIONS: list[str] = [
    """
    CREATE TABLE hub_rooms (
        room TEXT PRIMARY KEY,
        seed_client INTEGER NOT NULL,
        seed_clock INTEGER NOT NULL,
        generation TEXT NOT NULL,
        created REAL NOT NULL,
        snapshot BLOB,
        compacted REAL
    );
    CREATE TABLE hub_updates (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        room TEXT NOT NULL REFERENCES hub_rooms(room),
        data BLOB NOT NULL
    );
    CREATE INDEX hub_updates_room ON hub_updates(room, id)
    """,
    # v2: the log keyed by a per-room integer. No AUTOINCREMENT: a new row's id is above every
    # row still in the table, which is all the per-room order needs.
    """
    ALTER TABLE hub_rooms ADD COLUMN num INTEGER;
    UPDATE hub_rooms SET num = rowid;
    CREATE UNIQUE INDEX hub_rooms_num ON hub_rooms(num);
    CREATE TABLE hub_log (
        id INTEGER PRIMARY KEY,
        room INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    INSERT INTO hub_log(id, room, data)
        SELECT u.id, r.num, u.data FROM hub_updates u JOIN hub_rooms r ON r.room = u.room ORDER BY u.id;
    DROP TABLE hub_updates;
    CREATE INDEX hub_log_room ON hub_log(room, id)
    """,
]

#: How many rooms' ``num`` the store remembers (a few bytes each; more than rooms stay loaded).
NUM_CACHE_SIZE = 16_384


def _load(conn: sqlite3.Connection, room: str, *, created: bool = False) -> tuple[int, StoredRoom] | None:
    row = conn.execute(
        "SELECT seed_client, seed_clock, generation, created, snapshot, num FROM hub_rooms WHERE room = ?",
        (room,),
    ).fetchone()
    if row is None:
        return None
    num = int(row[5])
    log = [bytes(data) for (data,) in conn.execute("SELECT data FROM hub_log WHERE room = ? ORDER BY id", (num,))]
    meta = RoomMeta(int(row[0]), int(row[1]), str(row[2]), float(row[3]))
    updates = ([bytes(row[4])] if row[4] is not None else []) + log
    return num, StoredRoom(meta, updates, len(log), sum(map(len, log)), created)


#: Insert rows: the room's num, or its name when the store does not remember the num.
_Rows = list[tuple[int | str, bytes]]


class SqliteDocStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db
        #: The queued insert job that appends may still join: its rows and its commit future.
        self._open: tuple[_Rows, asyncio.Future[None]] | None = None
        self._lock = threading.Lock()  # the writer thread takes the rows when the job runs
        #: Room name -> ``num`` for rooms loaded or created here; insertion order, oldest dropped.
        self._nums: dict[str, int] = {}

    @staticmethod
    def register(db: SqliteDatabase) -> None:
        db.register("rooms", MIGRATIONS)

    async def load(self, room: str) -> StoredRoom | None:
        try:
            found = await self.db.read(lambda conn: _load(conn, room))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read room {room}: {exc}") from exc
        return None if found is None else self._remember(room, found)

    def _remember(self, room: str, found: tuple[int, StoredRoom]) -> StoredRoom:
        num, stored = found
        nums = self._nums
        if room not in nums and len(nums) >= NUM_CACHE_SIZE:
            del nums[next(iter(nums))]
        nums[room] = num
        return stored

    async def create_if_absent(self, room: str, meta: RoomMeta, seed: bytes) -> StoredRoom:
        def job(conn: sqlite3.Connection) -> tuple[int, StoredRoom]:
            # Writers are serialized (BEGIN IMMEDIATE, across processes too), so max + 1 is free.
            cursor = conn.execute(
                "INSERT OR IGNORE INTO hub_rooms(room, seed_client, seed_clock, generation, created, num) "
                "VALUES (?, ?, ?, ?, ?, (SELECT coalesce(max(num), 0) + 1 FROM hub_rooms))",
                (room, meta.seed_client, meta.seed_clock, meta.generation, meta.created),
            )
            created = cursor.rowcount == 1
            if created:
                conn.execute(
                    "INSERT INTO hub_log(room, data) SELECT num, ? FROM hub_rooms WHERE room = ?", (seed, room)
                )
            found = _load(conn, room, created=created)
            assert found is not None
            return found

        try:
            found = await self.db.write(job)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot create room {room}: {exc}") from exc
        return self._remember(room, found)

    def append(self, room: str, updates: Sequence[bytes]) -> asyncio.Future[None]:
        with self._lock:
            if self._open is None:
                rows: _Rows = []
                self._open = (rows, self.db.queue(partial(self._insert, rows)))
            rows, commit = self._open
            key = self._nums.get(room, room)
            rows.extend((key, update) for update in updates)
        # Callers share the job's future; a shield keeps one caller's cancel from dropping it.
        return asyncio.shield(commit)

    def _insert(self, rows: _Rows, conn: sqlite3.Connection) -> None:
        with self._lock:
            if self._open is not None and self._open[0] is rows:
                self._open = None  # later appends queue a new job
        if any(type(key) is str for key, _ in rows):
            rows = [(_num(conn, key) if type(key) is str else key, data) for key, data in rows]
        conn.executemany("INSERT INTO hub_log(room, data) VALUES (?, ?)", rows)

    def compact(self, room: str, snapshot: bytes) -> asyncio.Future[None]:
        with self._lock:
            self._open = None  # seal: appends made after this call go to a job queued after it

        def job(conn: sqlite3.Connection) -> None:
            changed = conn.execute(
                "UPDATE hub_rooms SET snapshot = ?, compacted = ? WHERE room = ?",
                (snapshot, time.time(), room),
            ).rowcount
            if changed != 1:
                raise StoreError(f"cannot compact room {room}: it is not in the store")
            conn.execute("DELETE FROM hub_log WHERE room = ?", (_num(conn, room),))

        return self.db.queue(job)

    async def check(self) -> str | None:
        try:
            await self.db.write(lambda conn: conn.execute("SELECT count(*) FROM hub_rooms").fetchone())
            await self.db.read(lambda conn: conn.execute("SELECT 1").fetchone())
        except (StoreError, sqlite3.Error) as exc:
            return f"the store at {self.db.path} is not usable: {exc}"
        return None


def _num(conn: sqlite3.Connection, room: str) -> int:
    row = conn.execute("SELECT num FROM hub_rooms WHERE room = ?", (room,)).fetchone()
    if row is None:
        raise StoreError(f"room {room} is not in the store")
    return int(row[0])
