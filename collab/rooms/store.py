"""The document store contract (``DocStore``) and its in-memory implementation.

Per room: meta (seed client id and clock, generation, created) plus an append-only update log
that starts with a snapshot. Compaction replaces the snapshot and the log with one new snapshot.

Ordering contract: ``append`` and ``compact`` take effect in call order (the SQLite store queues
them into its writer at call time, not when the returned awaitable is first awaited). So a
snapshot of the in-memory document taken right after ``append`` was called for every update in
it may safely replace the whole log, even while those appends are still committing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Protocol

import msgspec

__all__ = ["DocStore", "MemoryDocStore", "RoomMeta", "StoredRoom", "new_meta"]


class RoomMeta(msgspec.Struct, frozen=True):
    #: Client id of the deterministic seed transaction, and its length (clock after the seed).
    seed_client: int
    seed_clock: int
    #: Random per creation: a document restored or re-created elsewhere has another generation.
    generation: str
    created: float


class StoredRoom(msgspec.Struct, frozen=True):
    meta: RoomMeta
    #: Snapshot first (when there is one), then the log in commit order.
    updates: list[bytes]
    #: Log entries and bytes since the last snapshot (what compaction counts).
    log_count: int
    log_bytes: int
    #: True when this call created the room (the caller's seed went in).
    created: bool = False


def new_meta(seed_client: int, seed_clock: int) -> RoomMeta:
    return RoomMeta(seed_client, seed_clock, uuid.uuid4().hex, time.time())


class DocStore(Protocol):
    """Durable document state per room name. Every awaitable resolves after the commit."""

    async def load(self, room: str) -> StoredRoom | None:
        """The room's meta and updates, or None when the store never saw it."""
        ...

    async def create_if_absent(self, room: str, meta: RoomMeta, seed: bytes) -> StoredRoom:
        """Record ``meta`` and ``seed`` unless the room exists; return what is stored now.

        Two concurrent first opens (even in two processes) record exactly one seed.
        """
        ...

    def append(self, room: str, updates: Sequence[bytes]) -> asyncio.Future[None]:
        """Append updates to the room's log (queued at call time)."""
        ...

    def compact(self, room: str, snapshot: bytes) -> asyncio.Future[None]:
        """Replace the snapshot and every log entry appended before this call with ``snapshot``."""
        ...

    async def check(self) -> str | None:
        """None when the store can write and read, else the reason in words."""
        ...


class _MemRoom:
    __slots__ = ("log", "meta", "snapshot")

    def __init__(self, meta: RoomMeta, seed: bytes) -> None:
        self.meta = meta
        self.snapshot: bytes | None = None
        self.log: list[bytes] = [seed]


def _done() -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


class MemoryDocStore:
    """For unit tests and ``store.backend = "memory"``: nothing survives the process."""

    def __init__(self) -> None:
        self._rooms: dict[str, _MemRoom] = {}

    def _stored(self, entry: _MemRoom, *, created: bool = False) -> StoredRoom:
        updates = ([entry.snapshot] if entry.snapshot is not None else []) + list(entry.log)
        return StoredRoom(entry.meta, updates, len(entry.log), sum(map(len, entry.log)), created)

    async def load(self, room: str) -> StoredRoom | None:
        entry = self._rooms.get(room)
        return None if entry is None else self._stored(entry)

    async def create_if_absent(self, room: str, meta: RoomMeta, seed: bytes) -> StoredRoom:
        entry = self._rooms.get(room)
        if entry is not None:
            return self._stored(entry)
        entry = self._rooms[room] = _MemRoom(meta, seed)
        return self._stored(entry, created=True)

    def append(self, room: str, updates: Sequence[bytes]) -> asyncio.Future[None]:
        entry = self._rooms.get(room)
        if entry is None:
            raise KeyError(f"room {room} was never created")
        entry.log.extend(updates)
        return _done()

    def compact(self, room: str, snapshot: bytes) -> asyncio.Future[None]:
        entry = self._rooms[room]
        entry.snapshot = snapshot
        entry.log = []
        return _done()

    async def check(self) -> str | None:
        return None

    def forget(self, room: str) -> None:
        """Tests: simulate a lost store for one room."""
        self._rooms.pop(room, None)
