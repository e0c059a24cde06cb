"""A small pycrdt y-websocket client for tests: real sockets, explicit edits, control messages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import websockets
from pycrdt import Doc, Map, Text

from collab.protocol.control import MESSAGE_CONTROL, Control, Stored, decode_control
from collab.protocol.sync import (
    AWARENESS,
    STEP1,
    SYNC,
    AwarenessEntry,
    awareness_frame,
    encode_awareness,
    step1_frame,
    step2_frame,
    update_frame,
)
from collab.records import RecordKey

__all__ = ["YClient", "sync_url", "wait_for"]


def sync_url(ws_base: str, record: RecordKey, **params: str) -> str:
    query = "&".join(f"{k}={quote(v)}" for k, v in params.items())
    return f"{ws_base}/sync/{record.room}" + (f"?{query}" if query else "")


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll a condition (the event loop keeps running), failing after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)
    _ = what


def _read_var_uint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


class YClient:
    def __init__(self, url: str, *, doc: Doc[Any] | None = None) -> None:
        self.url = url
        self.doc: Doc[Any] = doc if doc is not None else Doc()
        self.ws: Any = None
        self.controls: list[Control] = []
        self.awareness: dict[int, bytes] = {}
        self.synced = asyncio.Event()
        self.sent = 0  # updates sent (what Stored.seq counts)
        self.stored = 0
        self.close_code: int | None = None
        self.close_reason = ""
        self.frames_received = 0
        #: (message type, sync step or -1) of every frame, in arrival order.
        self.kinds: list[tuple[int, int]] = []
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> YClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self, *, send_step1: bool = True) -> None:
        self.ws = await websockets.connect(self.url, max_size=None, compression=None, open_timeout=10)
        self.synced.clear()
        self.close_code = None
        self.sent = self.stored = 0  # Stored.seq counts per connection
        if send_step1:
            with contextlib.suppress(websockets.ConnectionClosed):  # refused at once: read why
                await self.ws.send(step1_frame(self.doc.get_state()))
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader
        self.ws = None

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.frames_received += 1
                data = bytes(raw)
                kind = data[0]
                self.kinds.append((kind, data[1] if kind == SYNC else -1))
                if kind == SYNC:
                    step = data[1]
                    length, pos = _read_var_uint(data, 2)
                    payload = data[pos : pos + length]
                    if step == STEP1:
                        self.sent += 1  # the hub counts step 2 replies like updates
                        await self.ws.send(step2_frame(self.doc.get_update(payload)))
                    else:
                        self.doc.apply_update(payload)
                        if step == 1:
                            self.synced.set()
                elif kind == AWARENESS:
                    self.awareness[len(self.awareness)] = data
                elif kind == MESSAGE_CONTROL:
                    length, pos = _read_var_uint(data, 1)
                    message = decode_control(data[pos : pos + length])
                    self.controls.append(message)
                    if isinstance(message, Stored):
                        self.stored = max(self.stored, message.seq)
        except websockets.ConnectionClosed:
            pass
        finally:
            if self.ws is not None and self.ws.close_code is not None:
                self.close_code = self.ws.close_code
                self.close_reason = self.ws.close_reason or ""

    async def wait_closed(self, timeout: float = 10.0) -> int | None:
        assert self._reader is not None
        async with asyncio.timeout(timeout):
            await self._reader
        return self.close_code

    async def edit(self, change: Callable[[Doc[Any]], Any]) -> bytes:
        """Run ``change`` locally and send the resulting update."""
        before = self.doc.get_state()
        change(self.doc)
        update = self.doc.get_update(before)
        await self.send_update(update)
        return update

    async def send_update(self, update: bytes) -> None:
        self.sent += 1
        await self.ws.send(update_frame(update))

    async def send_raw(self, data: bytes) -> None:
        await self.ws.send(data)

    async def set_awareness(self, state: bytes, clock: int = 1) -> None:
        entry = AwarenessEntry(self.doc.client_id, clock, state)
        await self.ws.send(awareness_frame(encode_awareness([entry])))

    def text(self, name: str = "Notes") -> str:
        return str(self.doc.get(name, type=Text))

    def fields(self) -> dict[str, Any]:
        return self.doc.get("fields", type=Map).to_py()
