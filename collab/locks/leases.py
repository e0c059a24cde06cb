"""Edit leases follow their holder's connections.

While a connection of the holder is joined to the room, the lease is renewed on a timer
(every third of the TTL; a renewal keeps the epoch and writes no audit entry). When the
holder's last connection leaves, the hub releases the lease after ``lease_grace_seconds``
(an ``expire`` transition by the hub) unless the holder is back by then. One pending release
per record at most. A lease that simply ran out (taken over HTTP, nobody connected) needs
no transition; the room's connections are told they may write again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from collab.errors import AccessDenied, Conflict
from collab.locks import machine
from collab.locks.machine import Request
from collab.locks.state import LockState
from collab.records import RecordKey

if TYPE_CHECKING:
    from collab.locks.service import LockService

__all__ = ["LeaseKeeper"]

log = logging.getLogger("collab.locks")


class LeaseKeeper:
    def __init__(self, service: LockService) -> None:
        self.service = service
        self._releases: dict[RecordKey, asyncio.Task[None]] = {}
        self._renewer: asyncio.Task[None] | None = None
        #: Records whose lease ran out and whose connections were told so (until the next change).
        self._expired_seen: set[RecordKey] = set()

    def start(self) -> None:
        self._renewer = asyncio.create_task(self._renew_loop(), name="collab-lease-renewer")

    async def stop(self) -> None:
        tasks = [task for task in (self._renewer, *self._releases.values()) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._renewer = None
        self._releases.clear()

    def pending(self, record: RecordKey) -> bool:
        return record in self._releases

    def changed(self, record: RecordKey) -> None:
        self._expired_seen.discard(record)

    # -- connections -----------------------------------------------------------------------

    def joined(self, room: Any, conn: Any) -> None:
        service = self.service
        if service.state_of(room.record).holder(service.clock()) == conn.principal.sub:
            pending = self._releases.pop(room.record, None)
            if pending is not None:
                pending.cancel()

    def left(self, room: Any, conn: Any) -> None:
        record, service = room.record, self.service
        holder = service.state_of(record).holder(service.clock())
        if not holder or holder != conn.principal.sub or record in self._releases:
            return
        if any(c.principal.sub == holder and c.id != conn.id for c in room.connections):
            return
        self._releases[record] = asyncio.create_task(self._release_later(record, holder))

    async def _release_later(self, record: RecordKey, holder: str) -> None:
        from collab.locks.service import HUB

        service = self.service
        try:
            await asyncio.sleep(service.ctx.settings.locks.lease_grace_seconds)
            room = service.ctx.rooms.loaded(record) if service.ctx.rooms is not None else None
            if room is not None and any(c.principal.sub == holder for c in room.connections):
                return
            if service.state_of(record).holder(service.clock()) != holder:
                return
            self._releases.pop(record, None)
            await service.act(record, HUB, "expire", comment=f"{holder} disconnected")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not release the lease on %s", record.room)
        finally:
            if self._releases.get(record) is asyncio.current_task():
                del self._releases[record]

    # -- renewal ---------------------------------------------------------------------------

    async def _renew_loop(self) -> None:
        interval = max(0.2, self.service.ctx.settings.locks.lease_ttl_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.renew_connected()
            except Exception:
                log.exception("lease renewal failed")

    async def renew_connected(self) -> int:
        """Renew every lease whose holder has a connection in its loaded room; return how many."""
        service = self.service
        if service.ctx.rooms is None:
            return 0
        renewed = 0
        for room in list(service.ctx.rooms.all_loaded()):
            state = service.state_of(room.record)
            holder = state.holder(service.clock())
            if state.lease_holder and not holder and room.record not in self._expired_seen:
                self._expired_seen.add(room.record)
                service.broadcast(room, state)
            conn = next((c for c in room.connections if holder and c.principal.sub == holder), None)
            if conn is None:
                continue
            request = Request(
                action="renew",
                principal=conn.principal,
                now=service.clock(),
                lease_ttl=service.ctx.settings.locks.lease_ttl_seconds,
                record=room.record.room,
            )

            def step(current: LockState, request: Request = request) -> machine.Transition:
                return machine.decide(current, request)

            try:
                result = await service.store.apply(room.record, step)
            except (AccessDenied, Conflict):  # the lease passed on meanwhile: nothing to renew
                continue
            service.remember(room.record, result.state)
            renewed += 1
        return renewed
