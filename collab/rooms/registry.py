"""The room registry (``ctx.rooms``): loads, shares and unloads rooms; calls the observers.

- Concurrent opens of one record share one load (an in-flight future per record).
- An opener may ask to see the stored state as soon as it is read (``acquire(early=...)``),
  before the document is built from it: the sync endpoint answers a fresh client from it.
- A room is visible only after its load finished; a failed load leaves nothing behind.
- After the last holder leaves, the room unloads once ``limits.room_grace_seconds`` passed and
  nothing is unstored; an open during the unload waits for it and then loads afresh.
- A room whose store commit failed or whose document panicked is dropped at once (its
  connections are told to reconnect) and the next open reloads it from the store.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

from collab.context import HubContext
from collab.errors import CloseCode
from collab.records import RecordKey
from collab.rooms.hooks import RoomHandle, RoomRegistryHandle
from collab.rooms.room import Room
from collab.rooms.seeding import KeyLookups, RoomUnavailable, load_or_seed
from collab.rooms.stats import SyncStats
from collab.rooms.store import DocStore, StoredRoom

__all__ = ["RoomRegistry"]

log = logging.getLogger("collab.rooms")


class RoomRegistry:
    def __init__(self, ctx: HubContext, store: DocStore) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.store = store
        self.stats = SyncStats(ctx.metrics)
        self._rooms: dict[RecordKey, Room] = {}
        self._loading: dict[RecordKey, asyncio.Task[Room]] = {}
        self._unloading: dict[RecordKey, asyncio.Task[None]] = {}
        self._early: dict[RecordKey, list[Callable[[StoredRoom], Awaitable[None]]]] = {}
        self.connection_count = 0
        self.lookups = KeyLookups(ctx.filemaker) if ctx.filemaker is not None else None

    # -- RoomRegistryHandle ----------------------------------------------------------------

    def loaded(self, record: RecordKey) -> Room | None:
        room = self._rooms.get(record)
        return None if room is None or room.closing else room

    def all_loaded(self) -> list[RoomHandle]:
        return [room for room in self._rooms.values() if not room.closing]

    @asynccontextmanager
    async def open(self, record: RecordKey) -> AsyncIterator[Room]:
        room = await self.acquire(record)
        try:
            yield room
        finally:
            self.release(room)

    # -- holding rooms ---------------------------------------------------------------------

    async def acquire(self, record: RecordKey, early: Callable[[StoredRoom], Awaitable[None]] | None = None) -> Room:
        """The loaded room, loading (or seeding) it first; the caller must ``release`` it.

        ``early`` is awaited with the stored state if this call waits for a load that has not
        read the store yet (before the document is built from it; the load waits for it).
        """
        while True:
            room = self._rooms.get(record)
            if room is not None and not room.closing:
                room.holders += 1
                if room.unload_timer is not None:
                    room.unload_timer.cancel()
                    room.unload_timer = None
                return room
            unloading = self._unloading.get(record)
            if unloading is not None:
                await asyncio.wait([unloading])
                continue
            loading = self._loading.get(record)
            if loading is None:
                loading = asyncio.get_running_loop().create_task(self._load(record))
                self._loading[record] = loading
                loading.add_done_callback(partial(self._loaded, record))
            if early is not None:
                self._early.setdefault(record, []).append(early)
            # shield: one impatient opener must not cancel the load the others wait for.
            await asyncio.shield(loading)

    def _loaded(self, record: RecordKey, _task: asyncio.Task[Room]) -> None:
        self._loading.pop(record, None)
        self._early.pop(record, None)

    async def _load(self, record: RecordKey) -> Room:
        layout = self.settings.layout(record.database, record.layout)
        if layout is None:
            raise RoomUnavailable(f"layout {record.layout_path} is not configured", close_code=CloseCode.NOT_FOUND)
        stored, seeded = await load_or_seed(self.store, self.ctx.filemaker, record, layout, self.lookups)
        for callback in self._early.pop(record, ()):
            try:
                await callback(stored)
            except Exception:
                log.exception("early look at the stored state of %s failed", record)
        try:
            room = Room(self, record, layout, stored, seeded)
        except (ValueError, RuntimeError) as exc:
            log.error("stored document of %s does not load: %s", record, exc)
            raise RoomUnavailable("the stored document does not load", close_code=CloseCode.INTERNAL) from exc
        for observer in self.ctx.observers:
            hook = getattr(observer, "room_loaded", None)
            if hook is not None:
                try:
                    result = hook(room)
                    if inspect.isawaitable(result):
                        await result
                except Exception:  # one part's bug must not keep a record closed for everyone
                    log.exception("room_loaded hook of %r failed for %s", observer, record)
        self._rooms[record] = room
        self.stats.rooms(len(self._rooms))
        return room

    def release(self, room: Room) -> None:
        room.holders -= 1
        if room.holders > 0 or room.closing:
            return
        loop = asyncio.get_running_loop()
        room.unload_timer = loop.call_later(self.settings.limits.room_grace_seconds, self._start_unload, room)

    def _start_unload(self, room: Room) -> None:
        room.unload_timer = None
        if room.holders > 0 or room.closing or self._rooms.get(room.record) is not room:
            return
        room.closing = True
        task = asyncio.get_running_loop().create_task(self._unload(room))
        self._unloading[room.record] = task

    async def _unload(self, room: Room) -> None:
        try:
            await room.settle()
            for observer in self.ctx.observers:
                hook = getattr(observer, "room_unloading", None)
                if hook is not None:
                    try:
                        result = hook(room)
                        if inspect.isawaitable(result):
                            await result
                    except Exception:
                        log.exception("room_unloading hook failed for %s", room.record)
            await room.settle()  # hooks may have edited the document
        finally:
            if self._rooms.get(room.record) is room:
                del self._rooms[room.record]
            self._unloading.pop(room.record, None)
            self.stats.rooms(len(self._rooms))

    def fail(self, room: Room, reason: str) -> None:
        """Drop a room whose memory can no longer be trusted; the next open reloads the store."""
        if room.closing:
            return
        log.error("room %s dropped and will reload from the store: %s", room.record, reason)
        room.closing = True
        room.close_all(CloseCode.RESTART, "room reloaded from the store; reconnect")
        self._unloading[room.record] = asyncio.get_running_loop().create_task(self._drop(room))

    async def _drop(self, room: Room) -> None:
        try:
            await room.settle()
        finally:
            if self._rooms.get(room.record) is room:
                del self._rooms[room.record]
            self._unloading.pop(room.record, None)
            self.stats.rooms(len(self._rooms))

    async def close(self) -> None:
        """Shutdown: tell clients to reconnect elsewhere, wait for every commit."""
        for room in list(self._rooms.values()):
            room.close_all(CloseCode.RESTART, "hub restarting")
            await room.settle()

    # -- observers and peers ---------------------------------------------------------------

    def notify(self, hook_name: str, *args: Any) -> None:
        for observer in self.ctx.observers:
            hook = getattr(observer, hook_name, None)
            if hook is None:
                continue
            try:
                hook(*args)
            except Exception:
                log.exception("%s hook of %r failed", hook_name, observer)

    def publish(self, room: Room, update: bytes) -> None:
        """Relay to other hub processes. Single-process for now: nothing to do."""


if TYPE_CHECKING:

    def _conforms(registry: RoomRegistry, room: Room) -> tuple[RoomRegistryHandle, RoomHandle]:
        """mypy checks that the hub implements the seams other parts code against."""
        return registry, room
