"""The write-back service: when to write each record to FileMaker, and what to do when it fails.

Every edit that FileMaker does not have yet bumps the record's outbox row (queued right behind
the commit that stored the edit). One driver task per dirty record waits out the debounce (with
a ceiling), then writes only the changed fields with the base modId. One exchange per record at
a time (a lock), token buckets per record and in total, jittered backoff on faults. Also the
room observer (``ctx.observers``) and the record's write-back status.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import time
from collections.abc import Mapping
from typing import Any

from collab.context import HubContext
from collab.errors import StoreError
from collab.filemaker.errors import (
    DataAPIError,
    FieldValidationError,
    FileMakerError,
    FileMakerUnavailable,
    ModIdMismatch,
    RecordInUse,
    RecordMissing,
)
from collab.persist.exchange import Exchange, InvalidValue, differs, writable_fields
from collab.persist.outbox import Base, Outbox
from collab.persist.pacing import Backoff, TokenBucket
from collab.persist.slot import Slot
from collab.protocol.control import FieldError, Saved, Waiting
from collab.protocol.origin import Origin
from collab.records import RecordKey
from collab.rooms.hooks import ConnectionInfo, RoomHandle

__all__ = ["WritebackService"]

log = logging.getLogger("collab.persist")

#: FileMaker errors that say "not now" rather than "not this": back off and retry, never park.
#: 212/214 (login refused) and 802 (file not open) need an administrator, but nothing is lost
#: by waiting for one; 951 unexpected, 952 token (the client already re-logged in once),
#: 953 transfer limit, 956 session limit, 959 web publishing off.
_TRANSIENT = frozenset({212, 214, 802, 951, 952, 953, 956, 959})


class WritebackService:
    def __init__(self, ctx: HubContext, outbox: Outbox) -> None:
        self.ctx = ctx
        self.settings = ctx.settings.writeback
        self.outbox = outbox
        self.backoff = Backoff(self.settings.backoff_initial_ms, self.settings.backoff_max_ms)
        self.total = TokenBucket(self.settings.max_requests_per_second)
        self.exchange = Exchange(ctx.filemaker, self._pace)
        self.slots: dict[RecordKey, Slot] = {}
        self.stopping = False
        #: Called with a slot when it may need polling (set by the poller).
        self.on_activity: Any = None

    # -- pacing and slots --------------------------------------------------------------------

    async def _pace(self, record: RecordKey) -> None:
        await self.slot(record).bucket.acquire()
        await self.total.acquire()

    def slot(self, record: RecordKey) -> Slot:
        slot = self.slots.get(record)
        if slot is None:
            slot = Slot(record, TokenBucket(self.settings.max_requests_per_second_per_record))
            self.slots[record] = slot
        return slot

    def base(self, slot: Slot) -> Base | None:
        if slot.base is None:
            try:
                _, slot.base = self.outbox.peek(slot.record)
            except StoreError:
                return None
        return slot.base

    async def ensure_base(self, slot: Slot, room: RoomHandle) -> Base:
        """The base, from memory, the store, the seed, or (never exchanged) FileMaker now."""
        base = self.base(slot)
        if base is None:
            seeded = room.seeded
            if seeded is not None:
                base = Base(record=slot.record, record_id=seeded.record_id, mod_id=seeded.mod_id,
                            values=dict(seeded.values))
            else:
                # Nothing known: take FileMaker now as the base, so the hub's differences get written.
                base = await self.exchange.base_from(room, await self.exchange.read(room, None))
            await self.outbox.set_base(base)
            slot.base = base
        return base

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Resume every pending row left by the previous run (graceful stop or kill -9)."""
        now = time.monotonic()
        for row in await self.outbox.pending():
            slot = self.slot(row.record)
            slot.restore(row, now - self.settings.ceiling_ms / 1000.0, time.time())
            self._drive(slot)
        self._gauge()

    async def stop(self) -> None:
        """Flush what can be written within the deadline; the rest stays in the outbox."""
        self.stopping = True
        tasks = []
        for slot in self.slots.values():
            slot.flush = True
            slot.wake.set()
            if slot.task is not None and not slot.task.done():
                tasks.append(slot.task)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.settings.shutdown_flush_seconds)
            for task in late:
                task.cancel()
            if late:
                log.warning("%d record(s) not yet in FileMaker; they are written on the next start", len(late))
                await asyncio.gather(*late, return_exceptions=True)

    # -- observer hooks ----------------------------------------------------------------------

    async def room_loaded(self, room: RoomHandle) -> None:
        slot = self.slot(room.record)
        seeded = room.seeded
        if seeded is not None:
            # A fresh seed is exactly what FileMaker holds: that is the base now.
            base = Base(record=room.record, record_id=seeded.record_id, mod_id=seeded.mod_id,
                        values=dict(seeded.values))
            await self.outbox.set_base(base)
            slot.base = base
        else:
            # Edits whose outbox row was lost (kill -9 between two commits) show as a difference.
            known = self.base(slot)
            if known is not None and not slot.dirty and self._unsaved(room, known):
                self.mark(room.record)
        if self.on_activity is not None:
            self.on_activity(slot, loaded=True)

    def update_stored(self, room: RoomHandle, update: bytes, origin: Origin) -> None:
        if origin.written_back:
            self.mark(room.record, room)

    def connection_joined(self, room: RoomHandle, connection: ConnectionInfo) -> None:
        slot = self.slots.get(room.record)
        if slot is None or not connection.control:
            return
        for message in slot.replay():
            room.send_control(message, to=connection.id)
        if self.on_activity is not None:
            self.on_activity(slot)

    def room_unloading(self, room: RoomHandle) -> None:
        slot = self.slots.get(room.record)
        if slot is not None and not slot.dirty and (slot.task is None or slot.task.done()):
            del self.slots[room.record]

    # -- dirtiness ---------------------------------------------------------------------------

    def _unsaved(self, room: RoomHandle, base: Base) -> bool:
        values = room.values()
        return any(differs(values.get(n), base.values.get(n)) for n in writable_fields(room.layout, list(values)))

    def mark(self, record: RecordKey, room: RoomHandle | None = None) -> None:
        """An edit FileMaker does not have: bump the outbox row (queued now) and wake the driver."""
        if not self.settings.enabled:
            return
        slot = self.slot(record)
        slot.touch(time.monotonic())
        self._bump(slot)
        if slot.parked and room is not None and slot.unpark_on(room.values()):
            self._save_row(slot)
        if self.on_activity is not None:
            self.on_activity(slot)
        self._drive(slot)
        self._gauge()

    def _bump(self, slot: Slot) -> None:
        """Bump the durable row. While one bump is queued, later edits share the next one: every
        edit is still followed by a committed bump, without one store job per keystroke."""
        if slot.bumping:
            slot.bump_again = True
            return
        try:
            marked = asyncio.ensure_future(self.outbox.mark_dirty(slot.record, time.time()))
        except StoreError:
            log.error("%s: could not queue the outbox row; the room reload will find the change", slot.record)
            return
        slot.bumping = True
        slot.track(marked)
        marked.add_done_callback(lambda future: self._bumped(slot, future))

    def _bumped(self, slot: Slot, future: asyncio.Future[Any]) -> None:
        slot.bumping = False
        if not future.cancelled() and future.exception() is not None:
            log.error("%s: the outbox row was not stored: %s", slot.record, future.exception())
        if slot.bump_again:
            slot.bump_again = False
            self._bump(slot)

    def _drive(self, slot: Slot) -> None:
        if slot.task is None or slot.task.done():
            slot.task = asyncio.create_task(self._run(slot), name=f"writeback {slot.record}")
        slot.wake.set()

    def _gauge(self) -> None:
        self.ctx.metrics.writeback_pending.set(sum(1 for s in self.slots.values() if s.dirty and not s.parked))

    # -- the driver --------------------------------------------------------------------------

    async def _run(self, slot: Slot) -> None:
        while slot.dirty and not slot.parked:
            delay = slot.due(self.settings.debounce_ms, self.settings.ceiling_ms) - time.monotonic()
            if delay > 0:
                slot.wake.clear()
                try:
                    async with asyncio.timeout(delay):
                        await slot.wake.wait()
                except TimeoutError:
                    pass
                continue
            try:
                await self._attempt(slot)
            except asyncio.CancelledError:
                raise
            except Exception:  # one record's bug must not stop its driver for good
                log.exception("%s: write-back attempt failed unexpectedly", slot.record)
                self._retry(slot, "error", "unexpected error (see the hub log)")
        self._gauge()

    async def _attempt(self, slot: Slot) -> None:
        record = slot.record
        async with slot.lock, self.ctx.rooms.open(record) as room:
            generation, edits = slot.generation, slot.edits
            try:
                base = await self.ensure_base(slot, room)
                types = await self.exchange.field_types(room)
                changed, state_vector = self.exchange.changes(room, base, types)
                if not changed:
                    await self._done(slot, generation, edits)
                    return
                try:
                    written = await self.exchange.write(room, base, changed, types, state_vector)
                except ModIdMismatch:
                    # Someone changed it in FileMaker: merge their change, then write again at once.
                    await self.merge_found(slot, room, await self.exchange.read(room, base))
                    return
            except RecordInUse as exc:
                self._retry(slot, "record_in_use", exc.message, room)
                return
            except FileMakerUnavailable as exc:
                self._retry(slot, "filemaker_unreachable", exc.detail, room)
                return
            except (FieldValidationError, InvalidValue) as exc:
                await self._invalid(slot, room, exc)
                return
            except RecordMissing as exc:
                await self._park(slot, room, "record_missing", f"the record was deleted in FileMaker ({exc.message})")
                return
            except FileMakerError as exc:
                if exc.code in _TRANSIENT:
                    self._retry(slot, "filemaker_unreachable", exc.message, room)
                else:
                    await self._refused(slot, room, exc)
                return
            except DataAPIError as exc:
                self._retry(slot, "filemaker_unreachable", exc.detail, room)
                return
            slot.base = written.base
            cleared = await self.outbox.set_base(written.base, clear_generation=generation)
            if cleared and slot.edits != edits:
                self._bump(slot)  # an edit raced the clear: its row must exist again
            latency = slot.saved(cleared and slot.edits == edits, time.monotonic())
            if latency is not None:
                self.ctx.metrics.writeback_latency.observe(latency)
            if not cleared:
                self._save_row(slot)
            saved = Saved(
                mod_id=written.base.mod_id,
                state_vector=base64.b64encode(written.state_vector).decode(),
                fields=written.fields,
                at=_iso(written.base.saved_at),
            )
            slot.last_saved = saved
            room.send_control(saved)
        await self._emit("record.saved", record, {"mod_id": written.base.mod_id, "fields": written.fields})

    async def _done(self, slot: Slot, generation: int, edits: int) -> None:
        """Nothing to send: the document already equals the base."""
        cleared = await self.outbox.clear(slot.record, generation)
        if cleared and slot.edits != edits:
            self._bump(slot)
        slot.saved(cleared and slot.edits == edits, time.monotonic())

    async def merge_found(self, slot: Slot, room: RoomHandle, found: Any) -> list[str]:
        """FileMaker changed the record: merge it into the document; the base becomes FileMaker's."""
        base = await self.ensure_base(slot, room)
        result, new_base = await self.exchange.merge(room, base, found)
        await self.outbox.set_base(new_base)
        slot.base = new_base
        if result.conflicts or result.text_merged:
            await self._emit("record.conflict", slot.record, {
                "mod_id": new_base.mod_id,
                "fields": result.theirs_changed,
                "text_merged": result.text_merged,
                "conflicts": [
                    {"field": c.field, "kept": c.kept, "overwritten": c.overwritten, "hub": c.ours,
                     "filemaker": c.theirs}
                    for c in result.conflicts
                ],
            })
        if self._unsaved(room, new_base):
            self.mark(slot.record)  # our side still has to reach FileMaker
        return result.theirs_changed

    # -- faults ------------------------------------------------------------------------------

    def _retry(self, slot: Slot, reason: str, detail: str, room: RoomHandle | None = None) -> None:
        delay = self.backoff.delay(slot.attempts + 1)
        slot.failed(reason, detail, delay, time.monotonic())
        self._save_row(slot)
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
        await self._emit("record.error", slot.record, {"field": field, "code": code, "message": message})
        if slot.validation_failures >= self.settings.validation_attempts:
            await self._park(slot, room, "validation", f"FileMaker refused {field or 'a field'}: {message}")
        else:
            self._retry(slot, "validation", message, room)

    async def _refused(self, slot: Slot, room: RoomHandle, exc: FileMakerError) -> None:
        """Any other FileMaker error: retrying will not fix it by itself; park after a few tries."""
        slot.validation_failures += 1
        await self._emit("record.error", slot.record, {"field": "", "code": str(exc.code), "message": exc.message})
        if slot.validation_failures >= self.settings.validation_attempts:
            await self._park(slot, room, f"filemaker_error_{exc.code}", exc.message)
        else:
            self._retry(slot, f"filemaker_error_{exc.code}", exc.message, room)

    async def _park(self, slot: Slot, room: RoomHandle, reason: str, detail: str) -> None:
        slot.park(reason, detail)
        self._save_row(slot)
        slot.waiting = Waiting(reason=reason, detail=detail[:200])
        room.send_control(slot.waiting)
        log.warning("%s: write-back parked (%s): %s", slot.record, reason, detail)
        await self._emit("record.error", slot.record, {"parked": True, "reason": reason, "message": detail})
        self._gauge()

    def _save_row(self, slot: Slot) -> None:
        row = slot.row()
        if row is not None:
            slot.track(asyncio.ensure_future(self.outbox.update(row)))

    async def _emit(self, type: str, record: RecordKey, payload: Mapping[str, Any]) -> None:
        try:
            await self.ctx.events.emit(type, record, payload, actor="filemaker")
        except Exception:  # an event log failure must not undo a FileMaker write
            log.exception("%s: could not record event %s", record, type)

    # -- status ------------------------------------------------------------------------------

    def status(self, record: RecordKey) -> dict[str, Any]:
        """Flat write-back state of a record (record-state endpoint, web viewer).

        The in-memory slot is the freshest view; the stored row answers for records this
        process has not touched yet (pending from before a restart).
        """
        slot = self.slots.get(record)
        try:
            row, base = self.outbox.peek(record)
        except StoreError:
            row, base = None, None
        if slot is not None and slot.base is not None:
            base = slot.base
        if slot is not None and (slot.dirty or row is None):
            pending, parked = slot.dirty and not slot.parked, slot.dirty and slot.parked
            attempts, last_error = slot.attempts, slot.last_error
        else:
            pending, parked = row is not None and not row.parked, row is not None and row.parked
            attempts, last_error = (row.attempts, row.last_error) if row is not None else (0, "")
        return {
            "last_saved_mod_id": base.saved_mod_id if base else "",
            "last_saved_at": _iso(base.saved_at) if base and base.saved_at else "",
            "mod_id": base.mod_id if base else "",
            "pending": pending,
            "waiting_reason": slot.waiting.reason if slot is not None and slot.waiting is not None else "",
            "attempts": attempts,
            "parked": parked,
            "last_error": last_error,
            "field_errors": dict(slot.field_errors) if slot is not None else {},
        }


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
