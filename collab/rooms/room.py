"""A loaded room: one record's document, its connections, and what clients send it.

Inbound messages are checked here (sync step 1 and the generation rule, write permission,
decode before apply, awareness); every accepted change then goes to the room's
:class:`~collab.rooms.pipeline.ChangePipeline`, which relays, stores, acks and notifies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pycrdt import Doc, merge_updates

from collab.document import read_values
from collab.errors import CloseCode, ProtocolError, StoreError
from collab.protocol.control import Control, Hello, Rejected, Reset
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
from collab.rooms.pipeline import ChangePipeline
from collab.rooms.store import RoomMeta, StoredRoom
from collab.settings import LayoutSettings

if TYPE_CHECKING:
    from collab.rooms.registry import RoomRegistry

__all__ = ["Room", "build_doc"]

log = logging.getLogger("collab.rooms")


class _NoEventStreams(dict[bool, Any]):
    """Stands in for a room document's ``doc.events()`` streams, which the hub never uses."""

    def __getitem__(self, key: bool) -> Any:
        raise RuntimeError("room documents do not support doc.events(); use doc.observe()")


#: Shared by every room document: pycrdt gives each Doc an anyio Lock (for ``async with``
#: transactions) and two stream sets (for ``doc.events()``), ~1.4 KB per idle room. The hub
#: uses neither, so rooms share one lock (async transactions would queue across rooms, not
#: break) and a stand-in that refuses ``events()`` loudly.
_SHARED_ASYNC_LOCK = Doc()._txn_async_lock
_NO_EVENT_STREAMS = _NoEventStreams()


def build_doc(updates: list[bytes]) -> Doc[Any]:
    """A fresh document (new random client id for server edits) holding ``updates``."""
    doc: Doc[Any] = Doc()
    doc._txn_async_lock = _SHARED_ASYNC_LOCK
    doc._send_streams = _NO_EVENT_STREAMS
    if len(updates) == 1:
        doc.apply_update(updates[0])
    elif updates:
        doc.apply_update(merge_updates(*updates))
    return doc


class Room:
    __slots__ = (
        "_conns",
        "awareness",
        "closing",
        "doc",
        "holders",
        "layout",
        "loaded_state",
        "meta",
        "pipeline",
        "record",
        "registry",
        "seeded",
        "unload_timer",
    )

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
        #: State vector of what the store held at load (what an early answer gave a client).
        self.loaded_state = self.doc.get_state()
        self.seeded = seeded
        self.awareness = RoomAwareness()
        self.holders = 0
        self.closing = False
        self.unload_timer: asyncio.TimerHandle | None = None
        self._conns: dict[str, Connection] = {}
        log = stored.updates[len(stored.updates) - stored.log_count :] if stored.log_count else []
        self.pipeline = ChangePipeline(self, log=log)

    # -- RoomHandle ------------------------------------------------------------------------

    @property
    def connections(self) -> list[ConnectionInfo]:
        return list(self._conns.values())

    def connection(self, connection_id: str) -> Connection | None:
        return self._conns.get(connection_id)

    @property
    def unstored(self) -> bool:
        """Anything applied in memory that is not committed yet."""
        return self.pipeline.unstored

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
        self.pipeline.flush()
        commit = self.pipeline.last_commit
        if origin.stored and commit is not None:
            await asyncio.wait([commit])  # never cancels the commit itself
        if self.closing or (commit is not None and (commit.cancelled() or commit.exception() is not None)):
            # The room was dropped (it reloads from the store on the next open).
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

    def join(self, conn: Connection, *, answered_early: bool = False) -> None:
        """``answered_early``: the endpoint already sent this client the stored state as its
        sync step 2 (a fresh client, while the room loaded); it gets what changed since."""
        self._conns[conn.id] = conn
        conn.room = self
        state = self.doc.get_state()
        # The greeting rides the control lane so later control messages (AccessState from
        # connection_joined) cannot overtake it.
        conn.push_control(step1_frame(state))
        if answered_early:
            conn.state = SYNCED
            if state != self.loaded_state:
                conn.push_sync(update_frame(self.doc.get_update(self.loaded_state)))
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
            self.pipeline.ack(conn, conn.seq)
            return
        denied = self._write_denied(conn)
        if denied is not None:
            if checks.is_noop(self.doc, payload):
                self.pipeline.ack(conn, conn.seq)
                return
            self._deny(conn, denied)
            return
        try:
            checks.apply(self.doc, payload)
        except checks.CrdtPanic:
            conn.close(CloseCode.POLICY, "update crashed the CRDT engine")  # before the others' 1012
            self.registry.fail(self, "the CRDT engine panicked on an update")
            raise ProtocolError("update crashed the CRDT engine") from None
        self.pipeline.ack(conn, conn.seq)
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

    # -- changes ---------------------------------------------------------------------------

    def _change(self, update: bytes, origin: Origin, sender: Connection | None) -> None:
        self.pipeline.change(update, origin, sender)

    def apply_peer(self, update: bytes, origin: Origin) -> None:
        """An update from another hub (already stored there) or any non-connection source."""
        checks.apply(self.doc, update)
        self._change(update, origin, None)

    def live_connections(self) -> Iterable[Connection]:
        return self._conns.values()

    async def settle(self) -> None:
        """Wait until everything handed to the store so far is committed (or failed)."""
        await self.pipeline.settle()
