"""A loaded room: one record's document, its connections, and the path every change takes.

Every change, whatever its origin, goes through :meth:`Room._change`, the one place that asks
``Origin.stored`` and ``Origin.relayed_to_peers``. Changes collect during an event-loop turn
and :meth:`Room._flush` handles them together: each frame is encoded once for all recipients
(several updates are merged into one), the turn's updates go to the store as one job, and
``Stored`` acks and ``update_stored`` hooks run only after that job committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from pycrdt import Doc, merge_updates

from collab.document import read_values
from collab.errors import CloseCode, ProtocolError, StoreError
from collab.protocol.control import Control, Hello, Rejected, Reset, Stored
from collab.protocol.origin import Origin
from collab.protocol.sync import (
    AWARENESS,
    EMPTY_UPDATE,
    STEP1,
    SYNC,
    awareness_frame,
    control_frame,
    encode_awareness,
    parse_awareness,
    parse_frame,
    step1_frame,
    update_frame,
)
from collab.records import RecordKey
from collab.rooms import checks
from collab.rooms.awareness import RoomAwareness
from collab.rooms.connection import AWAITING_STEP1, RESETTING, SYNCED, Connection
from collab.rooms.hooks import ConnectionInfo, SeedInfo
from collab.rooms.store import RoomMeta, StoredRoom
from collab.settings import LayoutSettings

if TYPE_CHECKING:
    from collab.rooms.registry import RoomRegistry

__all__ = ["Room", "build_doc"]

log = logging.getLogger("collab.rooms")


def build_doc(updates: list[bytes]) -> Doc[Any]:
    """A fresh document (new random client id for server edits) holding ``updates``."""
    doc: Doc[Any] = Doc()
    if len(updates) == 1:
        doc.apply_update(updates[0])
    elif updates:
        doc.apply_update(merge_updates(*updates))
    return doc


class Room:
    def __init__(
        self,
        registry: RoomRegistry,
        record: RecordKey,
        layout: LayoutSettings,
        stored: StoredRoom,
        seeded: SeedInfo | None,
    ) -> None:
        self.registry = registry
        self.record = record
        self.layout = layout
        self.meta: RoomMeta = stored.meta
        self.doc: Doc[Any] = build_doc(stored.updates)
        self.seeded = seeded
        self.awareness = RoomAwareness()
        self.holders = 0
        self.closing = False
        self.log_count = stored.log_count
        self.log_bytes = stored.log_bytes
        self.unload_timer: asyncio.TimerHandle | None = None
        self._conns: dict[str, Connection] = {}
        self._relay: list[tuple[bytes, Connection | None]] = []
        self._store: list[bytes] = []
        self._acks: dict[Connection, int] = {}
        self._notify: list[tuple[bytes, Origin]] = []
        self._scheduled = False
        self._pending = 0
        self._last_commit: asyncio.Future[None] | None = None

    # -- RoomHandle ------------------------------------------------------------------------

    @property
    def connections(self) -> list[ConnectionInfo]:
        return list(self._conns.values())

    def connection(self, connection_id: str) -> Connection | None:
        return self._conns.get(connection_id)

    @property
    def unstored(self) -> bool:
        """Anything applied in memory that is not committed yet."""
        return bool(self._store) or self._pending > 0

    def values(self) -> dict[str, Any]:
        return read_values(self.doc, self.layout)

    def presence(self) -> list[dict[str, Any]]:
        who = {c.id: (c.principal.sub, c.principal.display) for c in self._conns.values()}
        return self.awareness.presence(who)

    async def edit(self, change: Callable[[Doc[Any]], Any], origin: Origin) -> bytes:
        if self.closing:
            raise StoreError(f"room {self.record} is unloading; open it again")
        captured: list[bytes] = []
        subscription = self.doc.observe(lambda event: captured.append(event.update))
        try:
            with self.doc.transaction(origin=origin.kind.value):
                change(self.doc)
        finally:
            self.doc.unobserve(subscription)
        captured = [update for update in captured if update != EMPTY_UPDATE]
        if not captured:
            return b""
        update = captured[0] if len(captured) == 1 else merge_updates(*captured)
        self._change(update, origin, None)
        self._flush()
        commit = self._last_commit
        if origin.stored and commit is not None:
            await asyncio.shield(commit)
            if commit.exception() is not None:
                raise StoreError(f"could not store the edit of {self.record}")
        return update

    def send_control(self, message: Control, *, to: str | None = None) -> None:
        frame = control_frame(message)
        for conn in self._conns.values():
            if conn.control and (to is None or conn.id == to):
                conn.push_control(frame)

    def reset_connection(self, connection_id: str, reason: str, detail: str = "") -> None:
        conn = self._conns.get(connection_id)
        if conn is None:
            return
        if conn.control:
            conn.state = RESETTING
            conn.seq = 0  # the client starts counting again with its fresh document
            conn.push_control(control_frame(Reset(reason=reason, detail=detail)))
        else:
            conn.close(CloseCode.RESET, f"reset: {reason}" + (f": {detail}" if detail else ""))

    # -- connections -----------------------------------------------------------------------

    def join(self, conn: Connection) -> None:
        self._conns[conn.id] = conn
        conn.room = self
        # The greeting rides the control lane so later control messages (AccessState from
        # connection_joined) cannot overtake it.
        conn.push_control(step1_frame(self.doc.get_state()))
        if conn.control:
            principal = conn.principal
            hello = Hello(
                connection=conn.id,
                user=principal.sub,
                name=principal.display,
                can_write=self._write_denied(conn) is None,
                roles=sorted(principal.roles),
            )
            conn.push_control(control_frame(hello))
        self.registry.notify("connection_joined", self, conn)
        frame = self.awareness.snapshot_frame()
        if frame is not None:
            conn.push_awareness(-1, frame)

    def leave(self, conn: Connection) -> None:
        if self._conns.pop(conn.id, None) is None:
            return
        gone = self.awareness.remove(conn.client_ids)
        if gone is not None:
            for other in self._conns.values():
                other.push_awareness(-1, gone)
        self.registry.notify("connection_left", self, conn)
        if gone is not None:
            self.registry.notify("presence_changed", self)

    def close_all(self, code: int, reason: str) -> None:
        for conn in list(self._conns.values()):
            conn.close(code, reason)

    # -- inbound ---------------------------------------------------------------------------

    def receive(self, conn: Connection, data: bytes) -> None:
        """Handle one client message. Raises ProtocolError (the caller closes the connection)."""
        frame = parse_frame(data)
        if frame.kind == SYNC:
            if frame.step == STEP1:
                self._step1(conn, frame.payload)
            else:
                self._update(conn, frame.payload)
        elif frame.kind == AWARENESS:
            self._awareness(conn, frame.payload)
        else:  # query awareness
            snapshot = self.awareness.snapshot_frame()
            if snapshot is not None:
                conn.push_awareness(-1, snapshot)

    def _step1(self, conn: Connection, payload: bytes) -> None:
        vector = checks.state_vector(payload)
        meta = self.meta
        if vector and meta.seed_clock > 0 and vector.get(meta.seed_client, 0) < meta.seed_clock:
            # It holds history of a document generation we do not have: merging would duplicate.
            self.reset_connection(
                conn.id, "generation", "your copy of this record comes from a document the hub does not hold"
            )
            return
        conn.state = SYNCED
        try:
            conn.push_sync(checks.step2(self.doc, payload))
        except checks.CrdtPanic:
            conn.close(CloseCode.POLICY, "sync step 1 crashed the CRDT engine")  # before the others' 1012
            self.registry.fail(self, "the CRDT engine panicked answering a sync step 1")
            raise ProtocolError("sync step 1 crashed the CRDT engine") from None

    def _update(self, conn: Connection, payload: bytes) -> None:
        if conn.state != SYNCED:
            if conn.state == AWAITING_STEP1:
                raise ProtocolError("send sync step 1 before any update")
            return  # RESETTING: the client may still send what we told it to drop
        conn.seq += 1
        if payload == EMPTY_UPDATE:
            self._acks[conn] = conn.seq
            self._schedule()
            return
        denied = self._write_denied(conn)
        if denied is not None:
            if checks.is_noop(self.doc, payload):
                self._acks[conn] = conn.seq
                self._schedule()
                return
            self._deny(conn, denied)
            return
        try:
            checks.apply(self.doc, payload)
        except checks.CrdtPanic:
            conn.close(CloseCode.POLICY, "update crashed the CRDT engine")  # before the others' 1012
            self.registry.fail(self, "the CRDT engine panicked on an update")
            raise ProtocolError("update crashed the CRDT engine") from None
        self._acks[conn] = conn.seq
        self._change(payload, conn.origin, conn)

    def _awareness(self, conn: Connection, payload: bytes) -> None:
        entries = parse_awareness(payload, self.registry.settings.limits.max_awareness_bytes)
        accepted = self.awareness.apply(conn.id, conn.client_ids, entries)
        if not accepted:
            return
        frame = awareness_frame(payload if len(accepted) == len(entries) else encode_awareness(accepted))
        key = accepted[0].client if len(accepted) == 1 else -1
        # Echoed to the sender too: y-websocket clients count it as liveness from the hub.
        for other in self._conns.values():
            other.push_awareness(key, frame)
        self.registry.notify("presence_changed", self)

    def _write_denied(self, conn: Connection) -> str | None:
        gate = self.registry.ctx.gate
        if gate is not None:
            return gate.write_denied(self.record, conn.principal)
        return None if conn.principal.has_role("editor", "approver") else "role"

    def _deny(self, conn: Connection, reason: str) -> None:
        self.registry.stats.denied += 1
        if conn.control:
            conn.push_control(control_frame(Rejected(reason=reason, detail="this record is read-only for you now")))
            self.reset_connection(conn.id, reason)
        else:
            conn.close(CloseCode.READ_ONLY, f"read-only: {reason}; your edit was not applied")

    # -- the one path of every change ------------------------------------------------------

    def _change(self, update: bytes, origin: Origin, sender: Connection | None) -> None:
        self._relay.append((update, sender))
        if origin.stored:
            self._store.append(update)
        if origin.relayed_to_peers:
            self.registry.publish(self, update)
        self._notify.append((update, origin))
        self._schedule()

    def apply_peer(self, update: bytes, origin: Origin) -> None:
        """An update from another hub (already stored there) or any non-connection source."""
        checks.apply(self.doc, update)
        self._change(update, origin, None)

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        if not self._scheduled:
            return
        self._scheduled = False
        relay, self._relay = self._relay, []
        if relay:
            self._broadcast(relay)
        store, self._store = self._store, []
        acks, self._acks = self._acks, {}
        notify, self._notify = self._notify, []
        if store:
            try:
                commit = self.registry.store.append(self.record.room, store)
            except StoreError as exc:  # the store is stopped: memory now holds unstored state
                log.error("cannot store updates of %s: %s", self.record, exc.detail)
                self.registry.fail(self, "the store refused the updates")
                return
            self._track(commit, acks, notify)
            self.log_count += len(store)
            self.log_bytes += sum(map(len, store))
            self._maybe_compact()
        elif acks or notify:
            last = self._last_commit
            if last is not None and not last.done():
                last.add_done_callback(lambda _f: self._deliver(acks, notify))
            else:
                self._deliver(acks, notify)

    def _broadcast(self, relay: list[tuple[bytes, Connection | None]]) -> None:
        if len(relay) == 1:
            update, skip = relay[0]
        else:
            senders = {sender for _, sender in relay}
            update = merge_updates(*(u for u, _ in relay))
            skip = next(iter(senders)) if len(senders) == 1 else None
        frame = update_frame(update)
        sent = 0
        for conn in self._conns.values():
            if conn is not skip:
                conn.push_sync(frame)
                sent += 1
        stats = self.registry.stats
        stats.messages_out += sent
        stats.bytes_out += sent * len(frame)

    def _maybe_compact(self) -> None:
        limits = self.registry.settings.store
        if self.log_count < limits.compact_after_updates and self.log_bytes < limits.compact_after_bytes:
            return
        # Every update in the doc has been handed to the store already, and the store keeps
        # call order, so this snapshot may replace the whole log.
        commit = self.registry.store.compact(self.record.room, self.doc.get_update())
        self._track(commit, {}, [])
        self.log_count = 0
        self.log_bytes = 0

    def _track(self, commit: asyncio.Future[None], acks: dict[Connection, int], notify: list[tuple[bytes, Origin]]) -> None:
        self._pending += 1
        self._last_commit = commit
        commit.add_done_callback(partial(self._committed, acks, notify))

    def _committed(
        self, acks: dict[Connection, int], notify: list[tuple[bytes, Origin]], commit: asyncio.Future[None]
    ) -> None:
        self._pending -= 1
        if commit.cancelled() or commit.exception() is not None:
            error = None if commit.cancelled() else commit.exception()
            log.error("store commit for %s failed: %s", self.record, error)
            self.registry.fail(self, "the store could not commit")
            return
        self._deliver(acks, notify)
        if self._pending == 0:
            self.registry.settled(self)

    def _deliver(self, acks: dict[Connection, int], notify: list[tuple[bytes, Origin]]) -> None:
        for conn, seq in acks.items():
            if conn.control:
                conn.push_control(control_frame(Stored(seq=seq)))
        for update, origin in notify:
            self.registry.notify("update_stored", self, update, origin)

    async def settle(self) -> None:
        """Wait until everything handed to the store so far is committed (or failed)."""
        self._flush()
        while self._last_commit is not None and not self._last_commit.done():
            await asyncio.wait([self._last_commit])
