"""What the write-back service remembers about one record between exchanges (in memory)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

from collab.persist.outbox import Base, Pending
from collab.persist.pacing import TokenBucket
from collab.protocol.control import Control, FieldError, Saved, Waiting
from collab.records import RecordKey

__all__ = ["Slot", "describe", "iso"]


class Slot:
    __slots__ = (
        "_failed_values",
        "_field_messages",
        "_tracked",
        "_waker",
        "attempts",
        "base",
        "bucket",
        "bump_again",
        "bumping",
        "clearing",
        "dirty",
        "edits",
        "field_errors",
        "first_dirty",
        "flush",
        "generation",
        "last_edit",
        "last_error",
        "last_saved",
        "lock",
        "next_poll",
        "park_reason",
        "parked",
        "poll_interval",
        "record",
        "retry_at",
        "row_stored",
        "task",
        "validation_failures",
        "waiting",
    )

    def __init__(self, record: RecordKey, bucket: TokenBucket) -> None:
        self.record = record
        self.bucket = bucket
        #: One exchange with FileMaker per record at a time (write, merge, poll, refresh).
        self.lock = asyncio.Lock()
        #: Set while the driver sleeps until the record is due (``wake`` ends it early).
        self._waker: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None
        self.base: Base | None = None
        # dirtiness (monotonic clock)
        self.dirty = False
        self.edits = 0
        self.generation = 0
        self.first_dirty = 0.0
        self.last_edit = 0.0
        self.flush = False
        #: An outbox bump is queued; edits meanwhile ask for one more after it (``bump_again``).
        self.bumping = False
        self.bump_again = False
        #: The outbox row is committed and nothing can have cleared it since: only a write
        #: clears it, and only while ``clearing``.
        self.row_stored = False
        #: A write's clear of the row is queued and not committed yet.
        self.clearing = False
        # faults
        self.retry_at = 0.0
        self.attempts = 0
        self.validation_failures = 0
        self.parked = False
        self.park_reason = ""
        self.last_error = ""
        self.field_errors: dict[str, str] = {}
        self._failed_values: dict[str, Any] = {}
        # what a client joining now should be told
        self.waiting: Waiting | None = None
        self.last_saved: Saved | None = None
        self._field_messages: dict[str, FieldError] = {}
        # polling (owned by the poller)
        self.next_poll = 0.0
        self.poll_interval = 0.0
        self._tracked: dict[asyncio.Future[Any], None] = {}  # a set, at 64 bytes instead of 216

    # -- dirtiness ---------------------------------------------------------------------------

    def touch(self, now: float) -> None:
        self.edits += 1
        if not self.dirty:
            self.dirty = True
            self.first_dirty = now
        self.last_edit = now

    def needs_bump(self) -> bool:
        """Must an edit now be followed by a committed outbox bump?

        Not while the committed row already says "dirty" and no clear is queued: a write only
        queues its clear when no edit came in since it read the document (``edits``), so the
        row outlives every edit it did not carry. An edit made while a clear is queued must
        bump, so its row exists again after that clear.
        """
        return not self.row_stored or self.clearing

    async def sleep(self, delay: float) -> None:
        """Sleep ``delay`` seconds unless ``wake`` ends it earlier.

        Edits never need to wake the driver: they only move the due time later.
        """
        loop = asyncio.get_running_loop()
        waker = self._waker = loop.create_future()
        timer = loop.call_later(delay, _resolve, waker)
        try:
            await waker
        finally:
            timer.cancel()
            self._waker = None

    def wake(self) -> None:
        if self._waker is not None:
            _resolve(self._waker)

    def restore(self, row: Pending, first_dirty: float) -> None:
        """A row left by the previous run: due at once (a restart is a fine reason to retry)."""
        self.dirty = True
        self.row_stored = True
        self.generation = max(self.generation, row.generation)
        self.attempts = row.attempts
        self.parked = row.parked
        self.last_error = row.last_error
        self.park_reason = row.last_error.split(":", 1)[0] if row.parked else ""
        self.first_dirty = self.last_edit = first_dirty
        if row.parked:
            self.waiting = Waiting(reason=self.park_reason, detail=row.last_error[:200])

    def track(self, future: asyncio.Future[Any]) -> None:
        """Keep a queued store write alive; learn the durable generation it returns."""
        self._tracked[future] = None
        future.add_done_callback(self._settled)

    def _settled(self, future: asyncio.Future[Any]) -> None:
        self._tracked.pop(future, None)
        if future.cancelled() or future.exception() is not None:
            return
        result = future.result()
        if isinstance(result, Pending):
            self.generation = max(self.generation, result.generation)

    def due(self, debounce_ms: int, ceiling_ms: int) -> float:
        """Monotonic time of the next attempt: after the debounce, never after the ceiling."""
        if self.flush:
            return self.retry_at
        quiet = self.last_edit + debounce_ms / 1000.0
        ceiling = self.first_dirty + ceiling_ms / 1000.0
        return max(self.retry_at, min(quiet, ceiling))

    def saved(self, clean: bool, now: float) -> float | None:
        """FileMaker has the values (or nothing was to send). Returns first-edit-to-saved seconds."""
        latency = now - self.first_dirty if self.dirty else None
        self.attempts = self.validation_failures = 0
        self.retry_at = 0.0
        self.last_error = ""
        self.waiting = None
        self.field_errors.clear()
        self._field_messages.clear()
        self._failed_values.clear()
        if clean:
            self.dirty = False
        else:
            self.first_dirty = now  # edits arrived during the write: they start their own wait
        return latency

    # -- faults ------------------------------------------------------------------------------

    def failed(self, reason: str, detail: str, delay: float, now: float) -> None:
        self.attempts += 1
        self.retry_at = now + delay
        self.last_error = f"{reason}: {detail}"

    def field_error(self, message: FieldError, value: Any) -> None:
        self.validation_failures += 1
        self.field_errors[message.field] = message.message
        self._failed_values[message.field] = value
        self._field_messages[message.field] = message

    def park(self, reason: str, detail: str) -> None:
        self.parked = True
        self.park_reason = reason
        self.last_error = f"{reason}: {detail}"

    def unpark_on(self, values: dict[str, Any]) -> bool:
        """A new edit to a field FileMaker refused gives the record another chance."""
        if not self.parked:
            return False
        if self.park_reason not in ("validation", "invalid_value") and not self.park_reason.startswith(
            "filemaker_error"
        ):
            return False  # a deleted record does not come back because someone typed
        if self._failed_values and all(values.get(f) == v for f, v in self._failed_values.items()):
            return False
        self.unpark()
        return True

    def unpark(self) -> None:
        self.parked = False
        self.park_reason = ""
        self.attempts = self.validation_failures = 0
        self.retry_at = 0.0
        self.waiting = None

    def row(self) -> Pending | None:
        """The outbox row's mutable part, for ``Outbox.update``."""
        if not self.dirty:
            return None
        wait = max(0.0, self.retry_at - time.monotonic())
        return Pending(
            record=self.record,
            dirty_since=0.0,
            generation=self.generation,
            attempts=self.attempts,
            next_attempt_at=time.time() + wait if wait else 0.0,
            last_error=self.last_error,
            parked=self.parked,
        )

    def replay(self) -> list[Control]:
        """Control messages that describe the record's write-back state to a new client."""
        out: list[Control] = []
        if self.last_saved is not None:
            out.append(self.last_saved)
        if self.waiting is not None:
            out.append(self.waiting)
        out.extend(self._field_messages.values())
        return out


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe(slot: Slot | None, row: Pending | None, base: Base | None) -> dict[str, Any]:
    """The flat status: the in-memory slot is the freshest view; the stored row answers for
    records this process has not touched yet (pending from before a restart)."""
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
        "last_saved_at": iso(base.saved_at) if base and base.saved_at else "",
        "mod_id": base.mod_id if base else "",
        "pending": pending,
        "waiting_reason": slot.waiting.reason if slot is not None and slot.waiting is not None else "",
        "attempts": attempts,
        "parked": parked,
        "last_error": last_error,
        "field_errors": dict(slot.field_errors) if slot is not None else {},
    }
