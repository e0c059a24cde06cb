"""SQLite underneath the emulator: records (recordId, modId, values), sequences, containers.

recordIds come from a per-table sequence that never goes back, so a deleted record's id
is never reused (reference section 5). ``path=None`` keeps everything in memory.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Container", "RecordStore", "Row"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
  db TEXT NOT NULL, tbl TEXT NOT NULL, id INTEGER NOT NULL, mod INTEGER NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (db, tbl, id));
CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, next INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS containers (
  key TEXT PRIMARY KEY, filename TEXT NOT NULL, mime TEXT NOT NULL, data BLOB NOT NULL);
"""


@dataclass
class Row:
    id: int
    mod: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Container:
    filename: str
    mime: str
    data: bytes


class RecordStore:
    def __init__(self, path: str | Path | None = None) -> None:
        target = ":memory:" if path is None else str(path)
        self.is_new = path is None or not Path(path).exists() or Path(path).stat().st_size == 0
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._conn.executescript(_SCHEMA)
        if self.meta("seeded") is None:
            self.is_new = True

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One call's writes commit together (a parent, its portal rows, a sequence step)."""
        if self._conn.in_transaction:
            yield
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def next_value(self, name: str, start: int = 1) -> int:
        """The next number of a named sequence (recordIds, serial fields); never repeats."""
        row = self._conn.execute("SELECT next FROM sequences WHERE name = ?", (name,)).fetchone()
        value = max(int(row[0]), start) if row else start
        self._conn.execute("INSERT OR REPLACE INTO sequences (name, next) VALUES (?, ?)", (name, value + 1))
        return value

    def insert(self, db: str, tbl: str, data: dict[str, Any]) -> Row:
        record_id = self.next_value(f"recordId:{db}:{tbl}")
        self._conn.execute(
            "INSERT INTO records (db, tbl, id, mod, data) VALUES (?, ?, ?, 0, ?)",
            (db, tbl, record_id, json.dumps(data)),
        )
        return Row(record_id, 0, dict(data))

    def get(self, db: str, tbl: str, record_id: int) -> Row | None:
        row = self._conn.execute(
            "SELECT id, mod, data FROM records WHERE db = ? AND tbl = ? AND id = ?", (db, tbl, record_id)
        ).fetchone()
        return None if row is None else Row(int(row[0]), int(row[1]), json.loads(row[2]))

    def all(self, db: str, tbl: str) -> list[Row]:
        rows = self._conn.execute(
            "SELECT id, mod, data FROM records WHERE db = ? AND tbl = ? ORDER BY id", (db, tbl)
        ).fetchall()
        return [Row(int(r[0]), int(r[1]), json.loads(r[2])) for r in rows]

    def count(self, db: str, tbl: str) -> int:
        row = self._conn.execute("SELECT COUNT(*) FROM records WHERE db = ? AND tbl = ?", (db, tbl)).fetchone()
        return int(row[0])

    def update(self, db: str, tbl: str, row: Row) -> None:
        self._conn.execute(
            "UPDATE records SET mod = ?, data = ? WHERE db = ? AND tbl = ? AND id = ?",
            (row.mod, json.dumps(row.data), db, tbl, row.id),
        )

    def delete(self, db: str, tbl: str, record_id: int) -> None:
        self._conn.execute("DELETE FROM records WHERE db = ? AND tbl = ? AND id = ?", (db, tbl, record_id))

    def put_container(self, key: str, item: Container) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO containers (key, filename, mime, data) VALUES (?, ?, ?, ?)",
            (key, item.filename, item.mime, item.data),
        )

    def container(self, key: str) -> Container | None:
        row = self._conn.execute("SELECT filename, mime, data FROM containers WHERE key = ?", (key,)).fetchone()
        return None if row is None else Container(str(row[0]), str(row[1]), bytes(row[2]))
