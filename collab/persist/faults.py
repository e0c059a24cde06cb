"""What a failed write-back does: back off, tell the clients, or park the record.

Transient trouble (the record is open in FileMaker Pro, FileMaker is down or slow, a session
limit) is retried with capped, jittered exponential backoff for as long as it takes. Refusals
(validation 500-511, other FileMaker errors) are retried ``validation_attempts`` times and the
record is then parked; a record deleted in FileMaker is parked at once. Other records never
wait for a parked one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from collab.context import HubContext
from collab.filemaker.errors import (
    DataAPIError,
    FieldValidationError,
    FileMakerError,
    FileMakerUnavailable,
    RecordInUse,
    RecordMissing,
)
from collab.persist.exchange import InvalidValue
from collab.persist.outbox import Outbox
from collab.persist.pacing import Backoff
from collab.persist.slot import Slot
from collab.protocol.control import FieldError, Waiting
from collab.records import RecordKey
from collab.rooms.hooks import RoomHandle

__all__ = ["FaultHandler", "emit_event"]

log = logging.getLogger("collab.persist")

#: FileMaker errors that say "not now" rather than "not this": back off and retry, never park.
#: 212/214 (login refused) and 802 (file not open) need an administrator, but nothing is lost
#: by waiting for one; 951 unexpected, 952 token (the client already re-logged in once),
#: 953 transfer limit, 956 session limit, 959 web publishing off.
TRANSIENT = frozenset({212, 214, 802, 951, 952, 953, 956, 959})


async def emit_event(ctx: HubContext, type: str, record: RecordKey, payload: dict[str, Any]) -> None:
    try:
        await ctx.events.emit(type, record, payload, actor="filemaker")
    except Exception:  # an event log failure must not undo a FileMaker write
        log.exception("%s: could not record event %s", record, type)


class FaultHandler:
    def __init__(self, ctx: HubContext, outbox: Outbox, on_parked: Callable[[], None]) -> None:
        self.ctx = ctx
        self.settings = ctx.settings.writeback
        self.outbox = outbox
        self.backoff = Backoff(self.settings.backoff_initial_ms, self.settings.backoff_max_ms)
        self._on_parked = on_parked

    async def handle(self, slot: Slot, room: RoomHandle, exc: DataAPIError | InvalidValue) -> None:
        """Decide what the failed attempt means for the record (306 is the caller's business)."""
        if isinstance(exc, RecordInUse):
            self.retry(slot, "record_in_use", exc.message, room)
        elif isinstance(exc, FieldValidationError | InvalidValue):
            await self._invalid(slot, room, exc)
        elif isinstance(exc, RecordMissing):
            await self.park(slot, room, "record_missing", f"the record was deleted in FileMaker ({exc.message})")
        elif isinstance(exc, FileMakerError) and exc.code not in TRANSIENT:
            await self._refused(slot, room, exc)
        elif isinstance(exc, FileMakerError):
            self.retry(slot, "filemaker_unreachable", exc.message, room)
        else:  # FileMakerUnavailable and any other client failure: FileMaker did not answer
            assert isinstance(exc, FileMakerUnavailable | DataAPIError)
            self.retry(slot, "filemaker_unreachable", exc.detail, room)

    def retry(self, slot: Slot, reason: str, detail: str, room: RoomHandle | None = None) -> None:
        delay = self.backoff.delay(slot.attempts + 1)
        slot.failed(reason, detail, delay, time.monotonic())
        self.save_row(slot)
        message = Waiting(reason=reason, detail=detail[:200], retry_in_ms=int(delay * 1000))
        slot.waiting = message
        if room is not None:
            room.send_control(message)

    async def _invalid(self, slot: Slot, room: RoomHandle, exc: FieldValidationError | InvalidValue) -> None:
        if isinstance(exc, InvalidValue):
            field, code, message = exc.field, "invalid_value", exc.message
        else:
            field, code, message = exc.field or "", str(exc.code), exc.message
        error = FieldError(field=field, code=code, message=message)
        slot.field_error(error, room.values().get(field))
        room.send_control(error)
        await emit_event(self.ctx, "record.error", slot.record, {"field": field, "code": code, "message": message})
        if slot.validation_failures >= self.settings.validation_attempts:
            await self.park(slot, room, "validation", f"FileMaker refused {field or 'a field'}: {message}")
        else:
            self.retry(slot, "validation", message, room)

    async def _refused(self, slot: Slot, room: RoomHandle, exc: FileMakerError) -> None:
        """Another FileMaker error: retrying will not fix it by itself; park after a few tries."""
        slot.validation_failures += 1
        payload = {"field": "", "code": str(exc.code), "message": exc.message}
        await emit_event(self.ctx, "record.error", slot.record, payload)
        if slot.validation_failures >= self.settings.validation_attempts:
            await self.park(slot, room, f"filemaker_error_{exc.code}", exc.message)
        else:
            self.retry(slot, f"filemaker_error_{exc.code}", exc.message, room)

    async def park(self, slot: Slot, room: RoomHandle, reason: str, detail: str) -> None:
        slot.park(reason, detail)
        self.save_row(slot)
        slot.waiting = Waiting(reason=reason, detail=detail[:200])
        room.send_control(slot.waiting)
        log.warning("%s: write-back parked (%s): %s", slot.record, reason, detail)
        payload = {"parked": True, "reason": reason, "message": detail}
        await emit_event(self.ctx, "record.error", slot.record, payload)
        self._on_parked()

    def save_row(self, slot: Slot) -> None:
        """Store the row's attempts/backoff/parked state (queued; the row itself already exists)."""
        row = slot.row()
        if row is not None:
            slot.track(asyncio.ensure_future(self.outbox.update(row)))
