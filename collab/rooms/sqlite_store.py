"""``DocStore`` on the shared SQLite database (WAL, synchronous=FULL, group commit).

Tables (component ``rooms``):

- ``hub_rooms``: one row per room with the seed's client id and clock, the generation, the
  creation time and the current snapshot;
- ``hub_updates``: the append-only log, ordered by its integer key.

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
]


def _load(conn: sqlite3.Connection, room: str, *, created: bool = False) -> StoredRoom | None:
    row = conn.execute(
        "SELECT seed_client, seed_clock, generation, created, snapshot FROM hub_rooms WHERE room = ?",
        (room,),
    ).fetchone()
    if row is None:
        return None
    log = [bytes(data) for (data,) in conn.execute(
        "SELECT data FROM hub_updates WHERE room = ? ORDER BY id", (room,)
    )]
    meta = RoomMeta(int(row[0]), int(row[1]), str(row[2]), float(row[3]))
    updates = ([bytes(row[4])] if row[4] is not None else []) + log
    return StoredRoom(meta, updates, len(log), sum(map(len, log)), created)


_Rows = list[tuple[str, bytes]]


class SqliteDocStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db
        #: The queued insert job that appends may still join: its rows and its commit future.
        self._open: tuple[_Rows, asyncio.Future[None]] | None = None
        self._lock = threading.Lock()  # the writer thread takes the rows when the job runs

    @staticmethod
    def register(db: SqliteDatabase) -> None:
        db.register("rooms", MIGRATIONS)

    async def load(self, room: str) -> StoredRoom | None:
        try:
            return await self.db.read(lambda conn: _load(conn, room))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read room {room}: {exc}") from exc

    async def create_if_absent(self, room: str, meta: RoomMeta, seed: bytes) -> StoredRoom:
        def job(conn: sqlite3.Connection) -> StoredRoom:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO hub_rooms(room, seed_client, seed_clock, generation, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (room, meta.seed_client, meta.seed_clock, meta.generation, meta.created),
            )
            created = cursor.rowcount == 1
            if created:
                conn.execute("INSERT INTO hub_updates(room, data) VALUES (?, ?)", (room, seed))
            stored = _load(conn, room, created=created)
            assert stored is not None
            return stored

        try:
            return await self.db.write(job)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot create room {room}: {exc}") from exc

    def append(self, room: str, updates: Sequence[bytes]) -> asyncio.Future[None]:
        with self._lock:
            if self._open is None:
                rows: _Rows = []
                self._open = (rows, self.db.queue(partial(self._insert, rows)))
            rows, commit = self._open
            rows.extend((room, update) for update in updates)
        # Callers share the job's future; a shield keeps one caller's cancel from dropping it.
        return asyncio.shield(commit)

    def _insert(self, rows: _Rows, conn: sqlite3.Connection) -> None:
        with self._lock:
            if self._open is not None and self._open[0] is rows:
                self._open = None  # later appends queue a new job
        conn.executemany("INSERT INTO hub_updates(room, data) VALUES (?, ?)", rows)

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
            conn.execute("DELETE FROM hub_updates WHERE room = ?", (room,))

        return self.db.queue(job)

    async def check(self) -> str | None:
        try:
            await self.db.write(lambda conn: conn.execute("SELECT count(*) FROM hub_rooms").fetchone())
            await self.db.read(lambda conn: conn.execute("SELECT 1").fetchone())
        except (StoreError, sqlite3.Error) as exc:
            return f"the store at {self.db.path} is not usable: {exc}"
        return None
