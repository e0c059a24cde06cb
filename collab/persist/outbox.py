"""The write-back outbox: at most one pending write per record, and each record's base.

A *pending* row says "this record has changes FileMaker does not have yet". Edits coalesce
into it (``generation`` counts them), so a record never has more than one row however fast
people type. The *base* is what the hub last exchanged with FileMaker: the values (document
formats), the modId they carry, and the recordId (a cache only; the key field is identity).

:class:`MemoryOutbox` serves the in-memory store backend and the contract tests;
``collab.persist.sqlite_outbox.SqliteOutbox`` is the durable one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Protocol

import msgspec

from collab.records import RecordKey

__all__ = ["Base", "MemoryOutbox", "Outbox", "Pending"]


class Pending(msgspec.Struct, frozen=True, kw_only=True):
    record: RecordKey
    #: Wall-clock seconds of the first edit FileMaker does not have.
    dirty_since: float
    #: Bumped by every edit; a write clears the row only if no edit came in meanwhile.
    generation: int = 1
    attempts: int = 0
    #: Wall-clock seconds before which no attempt is made (backoff); 0 = now.
    next_attempt_at: float = 0.0
    last_error: str = ""
    #: Given up (validation failed too often, record deleted); kept until an edit or a refresh.
    parked: bool = False


class Base(msgspec.Struct, frozen=True, kw_only=True):
    record: RecordKey
    record_id: str
    mod_id: str
    values: dict[str, Any]
    #: Wall-clock seconds of the exchange; 0 when the base came from a read, not a save.
    saved_at: float = 0.0
    #: modId of the last successful write (empty until the hub has saved once).
    saved_mod_id: str = ""


class Outbox(Protocol):
    def mark_dirty(self, record: RecordKey, now: float) -> Awaitable[Pending]:
        """Create the record's row, or bump its generation (keeping ``dirty_since``).

        Queued at call time (so rows follow the order of the commits that made them dirty);
        await the result for the commit.
        """
        ...

    async def update(self, row: Pending) -> None:
        """Store attempts/backoff/error/parked of an existing row (no-op if it was cleared)."""
        ...

    async def clear(self, record: RecordKey, generation: int | None = None) -> bool:
        """Delete the row if its generation still is ``generation`` (any when None)."""
        ...

    async def set_base(self, base: Base, *, clear_generation: int | None = None) -> bool:
        """Store the base; with ``clear_generation`` also clear the row in the same commit."""
        ...

    async def pending(self) -> list[Pending]:
        """Every row, parked ones included (start-up resume, status)."""
        ...

    def peek(self, record: RecordKey) -> tuple[Pending | None, Base | None]:
        """The committed row and base, read without waiting (status endpoint)."""
        ...


class MemoryOutbox:
    """Outbox in a dict: nothing survives the process (the ``memory`` store backend)."""

    def __init__(self) -> None:
        self._rows: dict[RecordKey, Pending] = {}
        self._bases: dict[RecordKey, Base] = {}

    def mark_dirty(self, record: RecordKey, now: float) -> Awaitable[Pending]:
        row = self._rows.get(record)
        if row is None:
            row = Pending(record=record, dirty_since=now)
        else:
            row = msgspec.structs.replace(row, generation=row.generation + 1)
        self._rows[record] = row
        done: asyncio.Future[Pending] = asyncio.get_running_loop().create_future()
        done.set_result(row)
        return done

    async def update(self, row: Pending) -> None:
        current = self._rows.get(row.record)
        if current is not None:
            self._rows[row.record] = msgspec.structs.replace(
                current,
                attempts=row.attempts,
                next_attempt_at=row.next_attempt_at,
                last_error=row.last_error,
                parked=row.parked,
            )

    async def clear(self, record: RecordKey, generation: int | None = None) -> bool:
        row = self._rows.get(record)
        if row is None or (generation is not None and row.generation != generation):
            return False
        del self._rows[record]
        return True

    async def set_base(self, base: Base, *, clear_generation: int | None = None) -> bool:
        self._bases[base.record] = base
        if clear_generation is None:
            return False
        return await self.clear(base.record, clear_generation)

    async def pending(self) -> list[Pending]:
        return sorted(self._rows.values(), key=lambda row: row.dirty_since)

    def peek(self, record: RecordKey) -> tuple[Pending | None, Base | None]:
        return self._rows.get(record), self._bases.get(record)
