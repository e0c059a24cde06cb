"""Changes made in FileMaker: the ``/refresh`` notification and modId polling of open rooms.

Polling adapts per record: ``poll_min_ms`` after activity (an edit, a client joining, a change
found), doubling on every quiet poll up to ``poll_max_ms``. A token bucket bounds the total
polling rate; polls also count against the record's and the total write-back buckets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from collab.errors import StoreError
from collab.filemaker.errors import DataAPIError, RecordMissing
from collab.persist.pacing import TokenBucket
from collab.persist.service import WritebackService
from collab.persist.slot import Slot
from collab.records import RecordKey
from collab.rooms.hooks import RoomHandle

__all__ = ["Poller"]

log = logging.getLogger("collab.persist")


class _Turn:
    """Refresh calls of one record: how many asked, up to which one a read has answered."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.asked = 0
        self.answered = 0
        self.answer: tuple[list[str], str] | None = None


class Poller:
    def __init__(self, service: WritebackService) -> None:
        self.service = service
        settings = service.settings
        self.min = settings.poll_min_ms / 1000.0
        self.max = max(self.min, settings.poll_max_ms / 1000.0)
        self.bucket = TokenBucket(settings.max_polls_per_second)
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self._turns: dict[RecordKey, _Turn] = {}
        service.on_activity = self.activity

    def activity(self, slot: Slot, *, loaded: bool = False) -> None:
        """Something happened on the record: poll soon (at once when its room just loaded)."""
        now = time.monotonic()
        slot.poll_interval = self.min
        slot.next_poll = now if loaded else min(slot.next_poll or now + self.min, now + self.min)
        if loaded:
            self.wake.set()  # otherwise the loop's next scan (at most poll_min away) finds it

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="writeback poller")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def refresh(self, record: RecordKey) -> tuple[list[str], str]:
        """Re-read the record now and merge FileMaker's changes; (changed fields, modId).

        A burst of notifications for one record costs one read per round: a caller takes the
        answer of a read that started after it asked, else runs one itself.
        """
        turn = self._turns.setdefault(record, _Turn())
        turn.asked += 1
        ticket = turn.asked
        try:
            async with turn.lock:
                if turn.answered >= ticket and turn.answer is not None:
                    return turn.answer
                started = turn.asked
                turn.answer = await self._refresh(record)
                turn.answered = started
                return turn.answer
        finally:
            if not turn.lock.locked() and turn.answered >= turn.asked:
                self._turns.pop(record, None)

    async def _refresh(self, record: RecordKey) -> tuple[list[str], str]:
        service = self.service
        async with service.ctx.rooms.open(record) as room:
            slot = service.slot(record)
            async with slot.lock:
                changed, mod_id = await self._check(slot, room)
            self.activity(slot)
        return changed, mod_id

    async def _check(self, slot: Slot, room: RoomHandle) -> tuple[list[str], str]:
        service = self.service
        base = await service.ensure_base(slot, room)
        found = await service.exchange.read(room, base)
        if slot.parked and slot.park_reason == "record_missing":
            slot.unpark()  # it is there again (or was found under a new recordId)
            service.mark(slot.record)
        if found.mod_id == base.mod_id:
            return [], found.mod_id
        return await service.merge_found(slot, room, found), found.mod_id

    # -- the polling loop --------------------------------------------------------------------

    def _next(self) -> tuple[Slot | None, float]:
        rooms = self.service.ctx.rooms
        best: Slot | None = None
        for slot in list(self.service.slots.values()):
            if rooms is None or rooms.loaded(slot.record) is None:
                continue
            if slot.next_poll == 0.0:
                slot.next_poll, slot.poll_interval = time.monotonic() + self.min, self.min
            if best is None or slot.next_poll < best.next_poll:
                best = slot
        return best, (best.next_poll if best is not None else time.monotonic() + self.max)

    async def _run(self) -> None:
        while True:
            slot, due = self._next()
            # Rescan at least every poll_min: a room registers as loaded just after room_loaded.
            delay = min(due - time.monotonic(), self.min)
            if delay > 0:
                self.wake.clear()
                try:
                    async with asyncio.timeout(delay):
                        await self.wake.wait()
                except TimeoutError:
                    pass
                continue
            assert slot is not None
            await self.bucket.acquire()
            try:
                await self._poll(slot)
            except Exception:  # one record's poll failure must not stop polling
                log.exception("%s: polling FileMaker failed", slot.record)
                slot.poll_interval = self.max
                slot.next_poll = time.monotonic() + self.max

    async def _poll(self, slot: Slot) -> None:
        service = self.service
        interval = min(self.max, max(self.min, slot.poll_interval * 2 or self.min))
        slot.next_poll = time.monotonic() + interval
        slot.poll_interval = interval
        if slot.lock.locked() or slot.parked:
            return  # an exchange is under way; it sees FileMaker's state itself
        room: Any = service.ctx.rooms.loaded(slot.record)
        if room is None:
            return
        try:
            async with service.ctx.rooms.open(slot.record) as room, slot.lock:
                changed, _ = await self._check(slot, room)
        except RecordMissing:
            log.info("%s: the record is gone from FileMaker", slot.record)
            return
        except (DataAPIError, StoreError) as exc:
            log.debug("%s: poll failed: %s", slot.record, exc)
            return
        if changed:
            slot.poll_interval = self.min
            slot.next_poll = time.monotonic() + self.min
