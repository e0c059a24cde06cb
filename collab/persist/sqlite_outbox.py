"""The outbox on the shared SQLite database: rows survive kill -9 (``synchronous=FULL``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable
from typing import Any

import msgspec

from collab.persist.outbox import Base, Pending
from collab.records import RecordKey
from collab.store.sqlite import SqliteDatabase

__all__ = ["MIGRATIONS", "SqliteOutbox"]

MIGRATIONS = [
    """
    CREATE TABLE persist_outbox (
        database TEXT NOT NULL,
        layout TEXT NOT NULL,
        key TEXT NOT NULL,
        dirty_since REAL NOT NULL,
        generation INTEGER NOT NULL DEFAULT 1,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        parked INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (database, layout, key)
    );
    CREATE TABLE persist_base (
        database TEXT NOT NULL,
        layout TEXT NOT NULL,
        key TEXT NOT NULL,
        record_id TEXT NOT NULL,
        mod_id TEXT NOT NULL,
        vals BLOB NOT NULL,
        saved_at REAL NOT NULL DEFAULT 0,
        saved_mod_id TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (database, layout, key)
    )
    """
]

_ROW = "database, layout, key, dirty_since, generation, attempts, next_attempt_at, last_error, parked"
_encode = msgspec.json.Encoder().encode
_decode_values = msgspec.json.Decoder(dict[str, Any]).decode


def _pending(row: tuple[Any, ...]) -> Pending:
    return Pending(
        record=RecordKey(row[0], row[1], row[2]),
        dirty_since=row[3],
        generation=row[4],
        attempts=row[5],
        next_attempt_at=row[6],
        last_error=row[7],
        parked=bool(row[8]),
    )


def _where(record: RecordKey) -> tuple[str, str, str]:
    return (record.database, record.layout, record.key)


_KEY = "database = ? AND layout = ? AND key = ?"


class SqliteOutbox:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def mark_dirty(self, record: RecordKey, now: float) -> Awaitable[Pending]:
        def job(conn: sqlite3.Connection) -> Pending:
            conn.execute(
                "INSERT INTO persist_outbox (database, layout, key, dirty_since) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (database, layout, key) DO UPDATE SET generation = generation + 1",
                (*_where(record), now),
            )
            row = conn.execute(f"SELECT {_ROW} FROM persist_outbox WHERE {_KEY}", _where(record)).fetchone()
            return _pending(row)

        # submit() enqueues now: the row joins the next group commit, right behind the update.
        return self.db.queue(job)

    async def update(self, row: Pending) -> None:
        def job(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"UPDATE persist_outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, parked = ? "
                f"WHERE {_KEY}",
                (row.attempts, row.next_attempt_at, row.last_error, int(row.parked), *_where(row.record)),
            )

        await self.db.write(job)

    async def clear(self, record: RecordKey, generation: int | None = None) -> bool:
        return await self.db.write(lambda conn: _clear(conn, record, generation))

    async def set_base(self, base: Base, *, clear_generation: int | None = None) -> bool:
        def job(conn: sqlite3.Connection) -> bool:
            conn.execute(
                "INSERT INTO persist_base (database, layout, key, record_id, mod_id, vals, saved_at, saved_mod_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (database, layout, key) DO UPDATE SET "
                "record_id = excluded.record_id, mod_id = excluded.mod_id, vals = excluded.vals, "
                "saved_at = excluded.saved_at, saved_mod_id = excluded.saved_mod_id",
                (
                    *_where(base.record),
                    base.record_id,
                    base.mod_id,
                    _encode(base.values),
                    base.saved_at,
                    base.saved_mod_id,
                ),
            )
            if clear_generation is None:
                return False
            return _clear(conn, base.record, clear_generation)

        return await self.db.write(job)

    async def pending(self) -> list[Pending]:
        rows = await self.db.read(
            lambda conn: conn.execute(f"SELECT {_ROW} FROM persist_outbox ORDER BY dirty_since").fetchall()
        )
        return [_pending(row) for row in rows]

    def peek(self, record: RecordKey) -> tuple[Pending | None, Base | None]:
        def read(conn: sqlite3.Connection) -> tuple[Pending | None, Base | None]:
            row = conn.execute(f"SELECT {_ROW} FROM persist_outbox WHERE {_KEY}", _where(record)).fetchone()
            base = conn.execute(
                f"SELECT record_id, mod_id, vals, saved_at, saved_mod_id FROM persist_base WHERE {_KEY}",
                _where(record),
            ).fetchone()
            return (
                _pending(row) if row else None,
                Base(
                    record=record,
                    record_id=base[0],
                    mod_id=base[1],
                    values=_decode_values(base[2]),
                    saved_at=base[3],
                    saved_mod_id=base[4],
                )
                if base
                else None,
            )

        return self.db.read_sync(read)


def _clear(conn: sqlite3.Connection, record: RecordKey, generation: int | None) -> bool:
    if generation is None:
        cursor = conn.execute(f"DELETE FROM persist_outbox WHERE {_KEY}", _where(record))
    else:
        cursor = conn.execute(
            f"DELETE FROM persist_outbox WHERE {_KEY} AND generation = ?", (*_where(record), generation)
        )
    return cursor.rowcount > 0
