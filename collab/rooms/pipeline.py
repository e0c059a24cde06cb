"""The path every change of one room takes: relay, store, acknowledge, notify.

:meth:`ChangePipeline.change` is the one place that asks ``Origin.stored`` and
``Origin.relayed_to_peers``. Changes collect during an event-loop turn and
:meth:`ChangePipeline.flush` handles them together: the frame is encoded once for every
recipient (several updates are merged into one), the turn's updates go to the store as one
job, and ``Stored`` acks and the ``updates_stored`` hook run only after that job committed. The
observers hear of a turn's updates once (with their distinct origins), not once per update. The
store keeps call order, so commits (and with them acks) complete in order.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import TYPE_CHECKING

from pycrdt import merge_updates

from collab.errors import StoreError
from collab.protocol.control import Stored
from collab.protocol.origin import Origin
from collab.protocol.sync import control_frame, update_frame
from collab.rooms.connection import Connection

if TYPE_CHECKING:
    from collab.rooms.room import Room

__all__ = ["ChangePipeline"]

log = logging.getLogger("collab.rooms")

_Acks = dict[Connection, int]


class ChangePipeline:
    __slots__ = (
        "_acks",
        "_log",
        "_origins",
        "_pending",
        "_relay",
        "_store",
        "last_commit",
        "log_bytes",
        "log_count",
        "registry",
        "room",
        "scheduled",
    )

    def __init__(self, room: Room, *, log: list[bytes]) -> None:
        self.room = room
        self.registry = room.registry
        #: The stored log since the last snapshot: compaction merges it in (see _maybe_compact).
        self._log = log
        log_count, log_bytes = len(log), sum(map(len, log))
        #: Log entries and bytes since the last snapshot (what compaction counts).
        self.log_count = log_count
        self.log_bytes = log_bytes
        self.scheduled = False
        self._relay: list[tuple[bytes, Connection | None]] = []
        self._store: list[bytes] = []
        self._acks: _Acks = {}
        #: Distinct origins of this turn's changes (one connection is one Origin object).
        self._origins: list[Origin] = []
        self._pending = 0
        self.last_commit: asyncio.Future[None] | None = None

    @property
    def unstored(self) -> bool:
        """Anything applied in memory that is not committed yet."""
        return bool(self._store) or self._pending > 0

    def change(self, update: bytes, origin: Origin, sender: Connection | None) -> None:
        """An update already applied to the room's document."""
        self._relay.append((update, sender))
        if origin.stored:
            self._store.append(update)
        if origin.relayed_to_peers:
            self.registry.publish(self.room, update)
        origins = self._origins
        if not origins or (origins[-1] is not origin and all(o is not origin for o in origins)):
            origins.append(origin)
        self._schedule()

    def ack(self, conn: Connection, seq: int) -> None:
        """Acknowledge ``seq`` once everything this connection sent before is committed."""
        self._acks[conn] = seq
        self._schedule()

    def _schedule(self) -> None:
        if not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        if not self.scheduled:
            return
        self.scheduled = False
        relay, self._relay = self._relay, []
        if relay:
            self._broadcast(relay)
        store, self._store = self._store, []
        acks, self._acks = self._acks, {}
        origins, self._origins = self._origins, []
        if store:
            # Before the append is queued: whatever an observer queues on the store here (the
            # write-back outbox row) commits no later than the updates it is about.
            self.registry.notify("updates_storing", self.room, [o for o in origins if o.stored])
            try:
                commit = self.registry.store.append(self.room.record.room, store)
            except StoreError as exc:  # the store is stopped: memory now holds unstored state
                log.error("cannot store updates of %s: %s", self.room.record, exc.detail)
                self.registry.fail(self.room, "the store refused the updates")
                return
            self._track(commit, acks, origins)
            self._log.extend(store)
            self.log_count += len(store)
            self.log_bytes += sum(map(len, store))
            self._maybe_compact()
        elif acks or origins:
            last = self.last_commit
            if last is not None and not last.done():
                last.add_done_callback(lambda _f: self._deliver(acks, origins))
            else:
                self._deliver(acks, origins)

    def _broadcast(self, relay: list[tuple[bytes, Connection | None]]) -> None:
        if len(relay) == 1:
            update, skip = relay[0]
        else:
            senders = {sender for _, sender in relay}
            update = merge_updates(*(u for u, _ in relay))
            skip = next(iter(senders)) if len(senders) == 1 else None
        frame = update_frame(update)
        message = {"type": "websocket.send", "bytes": frame}
        sent = 0
        for conn in self.room.live_connections():
            if conn is not skip:
                conn.push_sync(frame, message)
                sent += 1
        stats = self.registry.stats
        stats.messages_out += sent
        stats.bytes_out += sent * len(frame)

    def _maybe_compact(self) -> None:
        limits = self.registry.settings.store
        if self.log_count < limits.compact_after_updates and self.log_bytes < limits.compact_after_bytes:
            return
        # Every update in the doc has been handed to the store already, and the store keeps
        # call order, so this snapshot may replace the whole log. yrs leaves pending structs
        # (updates whose dependencies have not arrived) out of get_update(); merging the log
        # back in keeps them, and costs nothing for what the document already holds.
        snapshot = merge_updates(self.room.doc.get_update(), *self._log)
        self._log = []
        commit = self.registry.store.compact(self.room.record.room, snapshot)
        self._track(commit, {}, [])
        self.log_count = 0
        self.log_bytes = 0

    def _track(self, commit: asyncio.Future[None], acks: _Acks, origins: list[Origin]) -> None:
        self._pending += 1
        self.last_commit = commit
        commit.add_done_callback(partial(self._committed, acks, origins))

    def _committed(self, acks: _Acks, origins: list[Origin], commit: asyncio.Future[None]) -> None:
        self._pending -= 1
        if commit.cancelled() or commit.exception() is not None:
            error = None if commit.cancelled() else commit.exception()
            log.error("store commit for %s failed: %s", self.room.record, error)
            self.registry.fail(self.room, "the store could not commit")
            return
        self._deliver(acks, origins)

    def _deliver(self, acks: _Acks, origins: list[Origin]) -> None:
        for conn, seq in acks.items():
            if conn.control:
                conn.push_control(control_frame(Stored(seq=seq)))
        if origins:
            self.registry.notify("updates_stored", self.room, origins)

    async def settle(self) -> None:
        """Wait until everything handed to the store so far is committed (or failed)."""
        self.flush()
        while self.last_commit is not None and not self.last_commit.done():
            await asyncio.wait([self.last_commit])
