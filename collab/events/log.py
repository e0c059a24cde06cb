"""The EventLog: ``ctx.events``. Emitting commits before it returns and wakes consumers.

Ordering: the log assigns sequence numbers itself, in call order, and makes an event
*visible* to consumers only once it and every lower number have committed (or failed), so a
consumer's cursor can never step over an event still being written.

Consumers pull. Each holds only a cursor; recent events sit in one shared, bounded ring,
and a consumer whose cursor fell below the ring (a slow SSE client, a reconnecting
approver) reads from the store by cursor, page by page. Nothing is dropped and no
per-consumer queue can grow: the overflow policy is "resume from the store".
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import msgspec

from collab.auth.principal import Principal
from collab.errors import StoreError
from collab.events.hints import Activity
from collab.events.model import Event, EventFilter, now, visible_to
from collab.events.store import EventStore
from collab.metrics import Metrics
from collab.records import RecordKey
from collab.settings import EventSettings

__all__ = ["EventLog", "Page"]

log = logging.getLogger("collab.events")

#: How often retention runs (it also runs once at start).
PRUNE_INTERVAL_SECONDS = 600.0
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(dict)


class Page(msgspec.Struct, frozen=True):
    events: list[Event]
    #: Cursor to pass as ``since`` next time: everything up to it was considered.
    next: int
    #: True when the page was cut at the limit (ask again right away).
    more: bool = False


class EventLog:
    def __init__(self, store: EventStore, settings: EventSettings, metrics: Metrics) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.activity = Activity(settings)
        self.page_size = max(1, settings.max_subscriber_backlog)
        self._ring: deque[Event] = deque(maxlen=self.page_size)
        #: Highest seq evicted from the ring (or the head at start): the ring is complete above it.
        self._ring_floor = 0
        self._next = 1
        self._visible = 0
        self._finished: dict[int, Event | None] = {}
        self._changed = asyncio.Event()
        #: record room -> who submitted it, so later events concern the submitter too.
        self._submitters: dict[str, str] = {}
        self._prune_task: asyncio.Task[None] | None = None
        self._started = False
        #: Set when the server begins shutting down: streams and long polls end, emits still work.
        self._draining = False

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        last = await self.store.last_seq()
        self._next, self._visible, self._ring_floor = last + 1, last, last
        for event in reversed(await self.store.latest("approval.changed", 10_000)):
            self._learn_submitter(event.record, event.payload, event.actor)
        self._started = True
        await self.prune()
        self._prune_task = asyncio.create_task(self._prune_loop(), name="collab-events-prune")

    async def stop(self) -> None:
        task, self._prune_task = self._prune_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._started = False
        self._wake()  # release waiting long polls so the server can stop

    async def drain(self) -> None:
        """End open streams and long polls so the server can close; keep accepting events."""
        self._draining = True
        self._wake()

    @property
    def running(self) -> bool:
        """True while consumers should keep waiting (started and not draining)."""
        return self._started and not self._draining

    @property
    def head(self) -> int:
        """The highest visible seq: where "from now" starts."""
        return self._visible

    # -- writing ---------------------------------------------------------------------------

    async def emit(
        self, type: str, record: RecordKey | None, payload: Mapping[str, Any], *, actor: str = ""
    ) -> int:
        if not self._started:
            raise StoreError("the event log is not running")
        plain = _decoder.decode(_encoder.encode(dict(payload)))  # fail before taking a seq
        room = record.room if record is not None else None
        layout = record.layout_path if record is not None else None
        concerns = self._concerns(room, plain, actor)
        seq = self._next
        self._next += 1
        event = Event(
            seq=seq, type=type, record=room, layout=layout, actor=actor, at=now(), payload=plain,
            concerns=concerns,
        )
        # The append finishes (and the seq becomes visible or is skipped) even if the emitting
        # task is cancelled meanwhile: a committed event must never be hidden from the ring.
        task = asyncio.ensure_future(self.store.append(event))
        task.add_done_callback(lambda done: self._appended(event, done))
        await asyncio.shield(task)
        return seq

    def _appended(self, event: Event, task: asyncio.Future[None]) -> None:
        ok = not task.cancelled() and task.exception() is None
        if ok:
            if event.type == "approval.changed":
                self._learn_submitter(event.record, event.payload, event.actor)
            self.metrics.events.labels(event.type).inc()
            self.activity.touch_record(event.record, event.layout, (event.actor, *event.concerns))
        self._finish(event.seq, event if ok else None)

    def _concerns(self, room: str | None, payload: dict[str, Any], actor: str) -> tuple[str, ...]:
        users: list[str] = []
        for key in ("submitter", "submitted_by", "user", "holder"):
            value = payload.get(key)
            if isinstance(value, str) and value:
                users.append(value)
        for value in payload.get("users", []) if isinstance(payload.get("users"), list) else []:
            if isinstance(value, str) and value:
                users.append(value)
        if room is not None and room in self._submitters:
            users.append(self._submitters[room])
        return tuple(sorted({user for user in users if user != actor}))

    def _learn_submitter(self, room: str | None, payload: Mapping[str, Any], actor: str) -> None:
        if room is None or payload.get("state") != "submitted":
            return
        submitter = payload.get("submitter") or payload.get("submitted_by") or actor
        if isinstance(submitter, str) and submitter:
            self._submitters[room] = submitter

    def _finish(self, seq: int, event: Event | None) -> None:
        self._finished[seq] = event
        advanced = False
        while self._visible + 1 in self._finished:
            self._visible += 1
            done = self._finished.pop(self._visible)
            if done is not None:
                if len(self._ring) == self._ring.maxlen:
                    self._ring_floor = self._ring[0].seq
                self._ring.append(done)
            advanced = True
        if advanced:
            self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- reading ---------------------------------------------------------------------------

    async def read(
        self, since: int, filter: EventFilter, principal: Principal, limit: int | None = None
    ) -> Page:
        """Events after ``since`` that match and that ``principal`` may see (no waiting)."""
        limit = max(1, min(limit or self.page_size, self.page_size))
        until = self._visible
        if since >= until:
            return Page([], since)
        cursor = max(0, since)
        found: list[Event] = []
        while cursor < until:
            if cursor >= self._ring_floor:
                start = bisect.bisect_right(self._ring, cursor, key=lambda event: event.seq)
                batch = [event for event in list(self._ring)[start:] if event.seq <= until]
                scanned_to = until
            else:
                batch = await self.store.after(cursor, until, filter, limit)
                scanned_to = batch[-1].seq if len(batch) >= limit else until
            for event in batch:
                if filter.matches(event) and visible_to(principal, event):
                    found.append(event)
                    if len(found) >= limit:
                        return Page(found, event.seq, more=event.seq < until)
            cursor = scanned_to
        return Page(found, cursor)

    async def wait(
        self, since: int, filter: EventFilter, principal: Principal, timeout: float, limit: int | None = None
    ) -> Page:
        """Like :meth:`read`, but hold until something matches or ``timeout`` passes."""
        deadline = time.monotonic() + max(0.0, timeout)
        cursor = since
        while True:
            changed = self._changed  # taken before reading: a wake after the read is not lost
            page = await self.read(cursor, filter, principal, limit)
            if page.events or page.more:
                return page
            cursor = page.next
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.running:
                return page
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await changed.wait()

    def poll_after_ms(self, filter: EventFilter) -> int:
        return self.activity.poll_after_ms(filter.activity_key)

    # -- retention -------------------------------------------------------------------------

    async def prune(self) -> int:
        cutoff = now() - self.settings.retention_days * 86_400.0
        keep = self.settings.retention_count
        removed = await self.store.prune(cutoff, keep)
        # The ring holds the newest events; drop what the store just dropped, so every
        # transport serves the same retained log.
        while self._ring and (self._ring[0].at < cutoff or len(self._ring) > max(0, keep)):
            self._ring_floor = self._ring.popleft().seq
        if removed:
            log.info("event retention removed %d events", removed)
        return removed

    async def _prune_loop(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_INTERVAL_SECONDS)
            try:
                await self.prune()
            except Exception:
                log.exception("event retention failed; will retry")
