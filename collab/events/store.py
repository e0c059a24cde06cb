"""Where events live: the EventStore contract, in memory and on the shared SQLite database.

Sequence numbers are assigned by the EventLog (one process owns the log) and only go up,
also across restarts and pruning: ``last_seq`` is the highest number ever appended, not the
highest still stored (SQLite keeps it in ``sqlite_sequence``).
"""

from __future__ import annotations

import bisect
import sqlite3
from typing import Protocol

import msgspec

from collab.events.model import Event, EventFilter
from collab.store.sqlite import SqliteDatabase

__all__ = ["MIGRATIONS", "EventStore", "MemoryEventStore", "SqliteEventStore"]


class EventStore(Protocol):
    async def append(self, event: Event) -> None:
        """Commit ``event`` (its seq is above every earlier one) before returning."""
        ...

    async def last_seq(self) -> int:
        """Highest seq ever appended (0 when none), pruned events included."""
        ...

    async def after(self, since: int, until: int, filter: EventFilter, limit: int) -> list[Event]:
        """Matching events with ``since < seq <= until``, oldest first, at most ``limit``."""
        ...

    async def prune(self, older_than: float, keep: int) -> int:
        """Delete events older than ``older_than`` (unix s) and all but the newest ``keep``."""
        ...

    async def latest(self, type: str, limit: int) -> list[Event]:
        """The newest ``limit`` events of one type, newest first (start-up state rebuilds)."""
        ...


MIGRATIONS = [
    """
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        type TEXT NOT NULL,
        record TEXT,
        layout TEXT,
        actor TEXT NOT NULL,
        concerns TEXT NOT NULL,
        payload BLOB NOT NULL
    );
    CREATE INDEX events_record ON events(record, seq);
    CREATE INDEX events_layout ON events(layout, seq);
    CREATE INDEX events_type ON events(type, seq);
    CREATE INDEX events_at ON events(at)
    """
]

_COLUMNS = "seq, at, type, record, layout, actor, concerns, payload"
_decode_payload = msgspec.json.Decoder(dict)


def _concerns_text(concerns: tuple[str, ...]) -> str:
    # ",alice,bob," so one user is matched exactly with instr(concerns, ',alice,').
    return "," + ",".join(concerns) + "," if concerns else ""


def _row(row: tuple[object, ...]) -> Event:
    seq, at, type_, record, layout, actor, concerns, payload = row
    assert isinstance(payload, bytes) and isinstance(concerns, str)
    return Event(
        seq=int(seq),  # type: ignore[call-overload]
        at=float(at),  # type: ignore[arg-type]
        type=str(type_),
        record=None if record is None else str(record),
        layout=None if layout is None else str(layout),
        actor=str(actor),
        concerns=tuple(part for part in concerns.split(",") if part),
        payload=_decode_payload.decode(payload),
    )


class SqliteEventStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    @staticmethod
    def register(db: SqliteDatabase) -> None:
        db.register("events", MIGRATIONS)

    async def append(self, event: Event) -> None:
        params = (
            event.seq,
            event.at,
            event.type,
            event.record,
            event.layout,
            event.actor,
            _concerns_text(event.concerns),
            msgspec.json.encode(event.payload),
        )
        await self.db.write(
            lambda conn: conn.execute(f"INSERT INTO events({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", params)
        )

    async def last_seq(self) -> int:
        def run(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            return int(row[0]) if row else 0

        return await self.db.read(run)

    async def after(self, since: int, until: int, filter: EventFilter, limit: int) -> list[Event]:
        where = ["seq > ?", "seq <= ?"]
        args: list[object] = [since, until]
        if filter.record is not None:
            where.append("record = ?")
            args.append(filter.record)
        if filter.layout is not None:
            where.append("layout = ?")
            args.append(filter.layout)
        if filter.types is not None:
            where.append(f"type IN ({','.join('?' * len(filter.types))})")
            args.extend(sorted(filter.types))
        if filter.user is not None:
            where.append("(actor = ? OR instr(concerns, ?) > 0)")
            args.extend([filter.user, f",{filter.user},"])
        sql = f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?"
        args.append(limit)
        rows = await self.db.read(lambda conn: conn.execute(sql, args).fetchall())
        return [_row(row) for row in rows]

    async def prune(self, older_than: float, keep: int) -> int:
        def run(conn: sqlite3.Connection) -> int:
            removed = conn.execute("DELETE FROM events WHERE at < ?", (older_than,)).rowcount
            cutoff = conn.execute(
                "SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?", (max(0, keep),)
            ).fetchone()
            if cutoff is not None:
                removed += conn.execute("DELETE FROM events WHERE seq <= ?", (cutoff[0],)).rowcount
            return int(removed)

        return await self.db.write(run)

    async def latest(self, type: str, limit: int) -> list[Event]:
        sql = f"SELECT {_COLUMNS} FROM events WHERE type = ? ORDER BY seq DESC LIMIT ?"
        rows = await self.db.read(lambda conn: conn.execute(sql, (type, limit)).fetchall())
        return [_row(row) for row in rows]


class MemoryEventStore:
    """The same contract in a list (the memory backend and the contract tests)."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._last = 0

    async def append(self, event: Event) -> None:
        if event.seq <= self._last:
            raise ValueError(f"event seq {event.seq} is not above {self._last}")
        # Round-trip the payload so memory holds exactly what SQLite would give back.
        payload = _decode_payload.decode(msgspec.json.encode(event.payload))
        self._events.append(msgspec.structs.replace(event, payload=payload))
        self._last = event.seq

    async def last_seq(self) -> int:
        return self._last

    async def after(self, since: int, until: int, filter: EventFilter, limit: int) -> list[Event]:
        start = bisect.bisect_right(self._events, since, key=lambda event: event.seq)
        found: list[Event] = []
        for event in self._events[start:]:
            if event.seq > until or len(found) >= limit:
                break
            if filter.matches(event):
                found.append(event)
        return found

    async def prune(self, older_than: float, keep: int) -> int:
        before = len(self._events)
        kept = [event for event in self._events if event.at >= older_than]
        self._events = kept[-keep:] if keep > 0 else []
        return before - len(self._events)

    async def latest(self, type: str, limit: int) -> list[Event]:
        return [event for event in reversed(self._events) if event.type == type][:limit]
