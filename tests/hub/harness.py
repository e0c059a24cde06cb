"""The real sync handler (registry, rooms, connections) without sockets, for property tests and fuzzing.

Peers are pycrdt documents; what the hub sends them lands in ``peer.inbox`` (through each
connection's real outbound queue and writer) and what they send waits in ``peer.outbox`` until
a test delivers it, so tests choose delivery order, duplication and loss.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from pycrdt import Doc, Map, Text

from collab.auth.principal import ANONYMOUS_EDITOR, Principal
from collab.context import HubContext
from collab.errors import ProtocolError
from collab.metrics import Metrics
from collab.protocol.control import MESSAGE_CONTROL, Reset, decode_control
from collab.protocol.sync import STEP1, SYNC, step1_frame, step2_frame, update_frame
from collab.records import RecordKey
from collab.rooms.connection import Connection
from collab.rooms.registry import RoomRegistry
from collab.rooms.room import Room, build_doc
from collab.rooms.seeding import seed_room
from collab.rooms.store import DocStore, MemoryDocStore
from collab.settings import DEMO_LAYOUT, Settings
from tests.hub.conftest import bare_settings

__all__ = ["Harness", "Peer", "read_payload"]

RECORD = RecordKey("Sales", "Invoices", "harness-record")
SEED = {"UUID": "harness-record", "InvoiceNo": 7, "Customer": "Acme", "Notes": "seed text", "Amount": 1}


def read_payload(frame: bytes, start: int) -> bytes:
    value = shift = 0
    pos = start
    while True:
        byte = frame[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
    return frame[pos : pos + value]


class Peer:
    def __init__(self, name: str) -> None:
        self.name = name
        self.doc: Doc[Any] = Doc()
        self.inbox: list[bytes] = []
        self.outbox: list[bytes] = []
        self.conn: Connection | None = None
        self.room: Room | None = None
        self.closed: int | None = None

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            self.inbox.append(message["bytes"])
        elif message["type"] == "websocket.close":
            self.closed = message["code"]

    def edit(self, op: int, pos: int, text: str) -> None:
        if not self.doc.get_state() or self.doc.get_state() == b"\x00":
            return  # like the web viewer: no edits before the first sync brought the seed
        before = self.doc.get_state()
        notes = self.doc.get("Notes", type=Text)
        length = len(str(notes))
        if op == 0 or length == 0:
            notes.insert(min(pos, length), text)
        elif op == 1:
            start = min(pos, length - 1)
            del notes[start : min(length, start + len(text))]
        else:
            self.doc.get("fields", type=Map)[f"k{pos % 3}"] = text
        if self.conn is not None:
            self.outbox.append(update_frame(self.doc.get_update(before)))

    def take(self, frame: bytes) -> None:
        """Apply one frame the hub sent."""
        if frame[0] == SYNC:
            payload = read_payload(frame, 2)
            if frame[1] == STEP1:
                self.outbox.append(step2_frame(self.doc.get_update(payload)))
            else:
                self.doc.apply_update(payload)
        elif frame[0] == MESSAGE_CONTROL:
            if isinstance(decode_control(read_payload(frame, 1)), Reset):
                # What the web viewer does: drop the local document and sync again.
                self.doc = Doc()
                self.outbox = [step1_frame(self.doc.get_state())]

    def values(self) -> tuple[str, dict[str, Any]]:
        return str(self.doc.get("Notes", type=Text)), self.doc.get("fields", type=Map).to_py()


class Harness:
    def __init__(self, store: DocStore | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or bare_settings(Path("/nonexistent-harness"))
        self.store: DocStore = store or MemoryDocStore()
        self.ctx = HubContext(settings=self.settings, metrics=Metrics())
        self.registry = RoomRegistry(self.ctx, self.store)

    async def seed(self) -> None:
        await seed_room(self.store, RECORD, DEMO_LAYOUT, SEED)

    async def connect(self, peer: Peer, principal: Principal = ANONYMOUS_EDITOR, *, control: bool = True) -> None:
        room = await self.registry.acquire(RECORD)
        limits = self.settings.limits
        conn = Connection(
            uuid.uuid4().hex[:8], principal, peer._send, control=control,
            queue_limit=limits.outbound_queue_bytes, rate=1e9, burst=10**9,
        )
        peer.conn, peer.room, peer.closed = conn, room, None
        room.join(conn)
        peer.outbox.insert(0, step1_frame(peer.doc.get_state()))

    async def disconnect(self, peer: Peer) -> None:
        conn, room = peer.conn, peer.room
        peer.conn = peer.room = None
        peer.inbox.clear()
        peer.outbox.clear()
        if conn is not None and room is not None:
            room.leave(conn)
            self.registry.release(room)
            await conn.finish()

    def up(self, peer: Peer, index: int, *, keep: bool = False) -> None:
        """Deliver one of the peer's queued frames to the hub (keep=True duplicates it)."""
        if not peer.outbox or peer.conn is None or peer.room is None:
            return
        # One socket is ordered: the step 1 that opens it goes first. After that, updates may be
        # reordered (a model of interleavings across reconnects) or duplicated.
        first = peer.outbox[0]
        index = 0 if first[0] == SYNC and first[1] == STEP1 else index % len(peer.outbox)
        frame = peer.outbox[index] if keep else peer.outbox.pop(index)
        try:
            peer.room.receive(peer.conn, frame)
        except ProtocolError as exc:  # a test bug, not a hub one: surface it
            raise AssertionError(f"hub refused a well-formed frame: {exc.detail}") from exc

    def down(self, peer: Peer, index: int, *, keep: bool = False) -> None:
        if not peer.inbox:
            return
        index %= len(peer.inbox)
        peer.take(peer.inbox[index] if keep else peer.inbox.pop(index))

    async def turn(self) -> None:
        """Let flushes, commits and writers run until nothing is in flight."""
        for _ in range(200):
            await asyncio.sleep(0)
            busy = False
            for room in self.registry.all_loaded():
                if room.unstored or room.pipeline.scheduled:
                    busy = True
                for conn in room.connections:
                    assert isinstance(conn, Connection)
                    if conn.queued_bytes or conn._ctl or conn._sync or conn._aw:
                        busy = True
            if not busy:
                return

    async def restart(self, peers: list[Peer], *, crash: bool) -> None:
        """Drop every connection and the registry; a crash skips the final flush."""
        for peer in peers:
            await self.disconnect(peer)
        if not crash:
            for room in self.registry.all_loaded():
                await room.settle()
        for room in list(self.registry.all_loaded()):
            if room.unload_timer is not None:
                room.unload_timer.cancel()
            room.closing = True
            room.pipeline.scheduled = False  # a crash: whatever was not flushed is gone
        self.registry = RoomRegistry(self.ctx, self.store)

    async def quiesce(self, peers: list[Peer]) -> None:
        """Reconnect everyone and deliver everything, in order, until nothing moves."""
        for peer in peers:
            if peer.conn is None:
                await self.connect(peer)
        for _ in range(50):
            await self.turn()
            moved = False
            for peer in peers:
                while peer.outbox:
                    self.up(peer, 0)
                    moved = True
            await self.turn()
            for peer in peers:
                while peer.inbox:
                    self.down(peer, 0)
                    moved = True
            if not moved:
                return
        raise AssertionError("peers never went quiet")

    async def stored_doc(self) -> Doc[Any]:
        stored = await self.store.load(RECORD.room)
        assert stored is not None
        return build_doc(stored.updates)
