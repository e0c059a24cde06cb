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
import logging
import time
from collections.abc import Sequence
from typing import Any

from collab.context import HubContext
from collab.errors import CollabError, StoreError
from collab.filemaker.errors import DataAPIError, ModIdMismatch
from collab.persist.exchange import Exchange, InvalidValue, differs, writable_fields
from collab.persist.faults import FaultHandler, emit_event
from collab.persist.outbox import Base, Outbox
from collab.persist.pacing import TokenBucket
from collab.persist.slot import Slot, describe, iso
from collab.protocol.control import Saved
from collab.protocol.origin import Origin
from collab.records import RecordKey
from collab.rooms.hooks import ConnectionInfo, RoomHandle

__all__ = ["WritebackService"]

log = logging.getLogger("collab.persist")

class WritebackService:
    def __init__(self, ctx: HubContext, outbox: Outbox) -> None:
        self.ctx = ctx
        self.settings = ctx.settings.writeback
        self.outbox = outbox
        self.faults = FaultHandler(ctx, outbox, self._gauge)
        self.total = TokenBucket(self.settings.max_requests_per_second)
        self.exchange = Exchange(ctx.filemaker, self._pace)
        self.slots: dict[RecordKey, Slot] = {}
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
        if not self.settings.enabled:
            return  # rows stay in the outbox until write-back is switched on again
        now = time.monotonic()
        for row in await self.outbox.pending():
            slot = self.slot(row.record)
            slot.restore(row, now - self.settings.ceiling_ms / 1000.0)
            self._drive(slot)
        self._gauge()

    async def stop(self) -> None:
        """Flush what can be written within the deadline; the rest stays in the outbox."""
        tasks = []
        for slot in self.slots.values():
            slot.flush = True
            slot.wake()
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
            # The values dict is shared with the seed (both are frozen): one copy per room.
            base = Base(record=room.record, record_id=seeded.record_id, mod_id=seeded.mod_id,
                        values=seeded.values)
            await self.outbox.set_base(base)
            slot.base = base
        else:
            # Edits whose outbox row was lost (kill -9 between two commits) show as a difference.
            known = self.base(slot)
            if known is not None and not slot.dirty and self._unsaved(room, known):
                self.mark(room.record)
        if self.on_activity is not None:
            # A room loaded from the store may be behind FileMaker: poll it at once. A fresh seed
            # is FileMaker's current state already.
            self.on_activity(slot, loaded=seeded is None)

    def updates_storing(self, room: RoomHandle, origins: Sequence[Origin]) -> None:
        # Marked before the updates are queued on the store, so their outbox row is never
        # committed later than they are: a kill -9 cannot leave a stored edit unmarked.
        if any(origin.written_back for origin in origins):
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
        """An edit FileMaker does not have: bump the outbox row (queued now) and start the driver."""
        if not self.settings.enabled:
            return
        slot = self.slot(record)
        was_dirty = slot.dirty
        slot.touch(time.monotonic())
        self._bump(slot)
        if slot.parked and room is not None and slot.unpark_on(room.values()):
            self.faults.save_row(slot)
        if self.on_activity is not None:
            self.on_activity(slot)
        self._drive(slot)
        if not was_dirty:
            self._gauge()  # counts all slots: only on the clean -> dirty step, not per keystroke

    def _bump(self, slot: Slot) -> None:
        """Bump the durable row. While one bump is queued, later edits share the next one: every
        edit is still followed by a committed bump, without one store job per keystroke."""
        if not slot.needs_bump():
            return
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
        if future.cancelled() or future.exception() is not None:
            log.error("%s: the outbox row was not stored: %s", slot.record,
                      "cancelled" if future.cancelled() else future.exception())
        else:
            slot.row_stored = True
        if slot.bump_again:
            slot.bump_again = False
            self._bump(slot)

    def _drive(self, slot: Slot) -> None:
        # A running driver needs no wake-up: an edit only moves the due time later, and the
        # driver re-reads it when its sleep ends.
        if slot.task is None or slot.task.done():
            slot.task = asyncio.create_task(self._run(slot), name=f"writeback {slot.record}")

    def _gauge(self) -> None:
        self.ctx.metrics.writeback_pending.set(sum(1 for s in self.slots.values() if s.dirty and not s.parked))

    # -- the driver --------------------------------------------------------------------------

    async def _run(self, slot: Slot) -> None:
        while slot.dirty and not slot.parked:
            delay = slot.due(self.settings.debounce_ms, self.settings.ceiling_ms) - time.monotonic()
            if delay > 0:
                await slot.sleep(delay)
                continue
            try:
                await self._attempt(slot)
            except asyncio.CancelledError:
                raise
            except CollabError as exc:  # the room cannot load now (FileMaker down before a seed, store)
                log.warning("%s: write-back waits: %s", slot.record, exc.detail)
                self.faults.retry(slot, "unavailable", exc.detail)
            except Exception:  # one record's bug must not stop its driver for good
                log.exception("%s: write-back attempt failed unexpectedly", slot.record)
                self.faults.retry(slot, "error", "unexpected error (see the hub log)")
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
                    await self._done(slot, room, base, generation, edits)
                    return
                try:
                    written = await self.exchange.write(room, base, changed, types, state_vector)
                except ModIdMismatch:
                    # Someone changed it in FileMaker: merge their change, then write again at once.
                    await self.merge_found(slot, room, await self.exchange.read(room, base))
                    return
            except (DataAPIError, InvalidValue) as exc:
                await self.faults.handle(slot, room, exc)
                return
            slot.base = written.base
            # An edit since this attempt read the document keeps the row: FileMaker lacks it.
            clear = generation if slot.edits == edits else None
            slot.clearing = clear is not None
            try:
                cleared = await self.outbox.set_base(written.base, clear_generation=clear)
            finally:
                slot.clearing = False
            if cleared:
                slot.row_stored = False
            if cleared and slot.edits != edits:
                self._bump(slot)  # an edit raced the clear: its row must exist again
            latency = slot.saved(cleared and slot.edits == edits, time.monotonic())
            if latency is not None:
                self.ctx.metrics.writeback_latency.observe(latency)
            if not cleared:
                self.faults.save_row(slot)
            saved = Saved(
                mod_id=written.base.mod_id,
                state_vector=base64.b64encode(written.state_vector).decode(),
                fields=written.fields,
                at=iso(written.base.saved_at),
            )
            slot.last_saved = saved
            room.send_control(saved)
        await emit_event(self.ctx, "record.saved", record, {"mod_id": written.base.mod_id, "fields": written.fields})

    async def _done(self, slot: Slot, room: RoomHandle, base: Base, generation: int, edits: int) -> None:
        """Nothing to send: the document already equals the base (FileMaker has it all)."""
        cleared = False
        if slot.edits == edits:  # else an edit came in since the document was read: keep the row
            slot.clearing = True
            try:
                cleared = await self.outbox.clear(slot.record, generation)
            finally:
                slot.clearing = False
        if cleared:
            slot.row_stored = False
        if cleared and slot.edits != edits:
            self._bump(slot)
        was_waiting = slot.waiting is not None
        slot.saved(cleared and slot.edits == edits, time.monotonic())
        if was_waiting:
            # Clients showing "waiting for FileMaker" learn it is over.
            room.send_control(Saved(mod_id=base.mod_id, state_vector=base64.b64encode(room.doc.get_state()).decode()))

    async def merge_found(self, slot: Slot, room: RoomHandle, found: Any) -> list[str]:
        """FileMaker changed the record: merge it into the document; the base becomes FileMaker's."""
        base = await self.ensure_base(slot, room)
        result, new_base = await self.exchange.merge(room, base, found)
        await self.outbox.set_base(new_base)
        slot.base = new_base
        if result.conflicts or result.text_merged:
            await emit_event(self.ctx, "record.conflict", slot.record, {
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

    # -- status ------------------------------------------------------------------------------

    def status(self, record: RecordKey) -> dict[str, Any]:
        """Flat write-back state of a record (record-state endpoint, web viewer)."""
        try:
            row, base = self.outbox.peek(record)
        except StoreError:
            row, base = None, None
        return describe(self.slots.get(record), row, base)


