"""``SqliteLockStore``: lock state and the audit trail in the hub's SQLite database.

One row per record in ``lock_state`` (the state as msgspec JSON, plus indexed columns) and one
row per transition in ``lock_audit``. ``apply`` runs read, step and both writes as one job of
the single writer thread, so they commit in one transaction and nothing interleaves.
"""

from __future__ import annotations

import sqlite3

import msgspec

from collab.locks.machine import Transition
from collab.locks.state import AuditEntry, LockState
from collab.locks.store import Step
from collab.records import RecordKey
from collab.store.sqlite import SqliteDatabase

__all__ = ["MIGRATIONS", "SqliteLockStore", "read_all_entries", "read_all_states"]

MIGRATIONS = [
    """
    CREATE TABLE lock_state (
        record TEXT PRIMARY KEY,
        database_name TEXT NOT NULL,
        layout_name TEXT NOT NULL,
        record_key TEXT NOT NULL,
        state TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    CREATE INDEX lock_state_by_state ON lock_state(state);
    CREATE TABLE lock_audit (
        record TEXT NOT NULL,
        seq INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        hash TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (record, seq)
    );
    """
]

_state_decoder = msgspec.json.Decoder(LockState)
_entry_decoder = msgspec.json.Decoder(AuditEntry)


def _read(conn: sqlite3.Connection, record: RecordKey) -> LockState:
    row = conn.execute("SELECT data FROM lock_state WHERE record = ?", (record.room,)).fetchone()
    return _state_decoder.decode(row[0]) if row else LockState()


def read_all_entries(conn: sqlite3.Connection, record: str | None = None) -> dict[str, list[AuditEntry]]:
    """Every audit trail (or one record's), oldest entry first. Used by ``collab audit verify`` too."""
    sql = "SELECT record, data FROM lock_audit"
    args: tuple[str, ...] = ()
    if record is not None:
        sql, args = sql + " WHERE record = ?", (record,)
    trails: dict[str, list[AuditEntry]] = {}
    for name, data in conn.execute(sql + " ORDER BY record, seq", args):
        trails.setdefault(name, []).append(_entry_decoder.decode(data))
    return trails


def read_all_states(conn: sqlite3.Connection) -> dict[str, LockState]:
    return {name: _state_decoder.decode(data) for name, data in conn.execute("SELECT record, data FROM lock_state")}


class SqliteLockStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    def peek(self, record: RecordKey) -> LockState:
        return self._db.read_sync(lambda conn: _read(conn, record))

    async def get(self, record: RecordKey) -> LockState:
        return await self._db.read(lambda conn: _read(conn, record))

    async def apply(self, record: RecordKey, step: Step) -> Transition:
        def job(conn: sqlite3.Connection) -> Transition:
            current = _read(conn, record)
            result = step(current)
            new = result.state
            if new.epoch < current.epoch:
                raise AssertionError("a lock epoch must never go down")
            conn.execute(
                "INSERT INTO lock_state(record, database_name, layout_name, record_key, state, epoch, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(record) DO UPDATE SET "
                "state = excluded.state, epoch = excluded.epoch, data = excluded.data",
                (record.room, record.database, record.layout, record.key, new.state, new.epoch,
                 msgspec.json.encode(new)),
            )
            if result.entry is not None:
                entry = result.entry
                conn.execute(
                    "INSERT INTO lock_audit(record, seq, epoch, hash, data) VALUES (?, ?, ?, ?, ?)",
                    (record.room, entry.seq, entry.epoch, entry.hash, msgspec.json.encode(entry)),
                )
            return result

        return await self._db.write(job)

    async def entries(self, record: RecordKey) -> list[AuditEntry]:
        trails = await self._db.read(lambda conn: read_all_entries(conn, record.room))
        return trails.get(record.room, [])

    async def states(self, state: str | None = None) -> list[tuple[RecordKey, LockState]]:
        def query(conn: sqlite3.Connection) -> list[tuple[RecordKey, LockState]]:
            sql = "SELECT database_name, layout_name, record_key, data FROM lock_state"
            rows = conn.execute(sql + " WHERE state = ?", (state,)) if state else conn.execute(sql)
            return sorted((RecordKey(db, layout, key), _state_decoder.decode(data)) for db, layout, key, data in rows)

        return await self._db.read(query)
