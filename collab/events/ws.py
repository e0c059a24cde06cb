"""The JSON event WebSocket ``/events``, for plugin clients (MBS and friends) and scripts.

Text frames only. The client sends ``{"type": "subscribe", "since": N, "record": ...,
"layout": ..., "user": ..., "types": [...]}`` (``since`` omitted: from now), or
``{"type": "unsubscribe"}``, or ``{"type": "ping"}``. The hub answers ``subscribed`` (with the
starting cursor), then ``{"type": "event", "event": {...}}`` frames in seq order. A bad
message gets an ``error`` frame; the fifth closes the socket with 1008.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import msgspec
from litestar import WebSocket, websocket

from collab.auth.principal import Principal
from collab.errors import AccessDenied, CloseCode, CollabError
from collab.events.access import context_of, make_filter, principal_of
from collab.events.log import EventLog
from collab.events.model import EventFilter

__all__ = ["events_socket"]

log = logging.getLogger("collab.events")

MAX_BAD_MESSAGES = 5
MAX_MESSAGE_BYTES = 16_384
#: A subscription re-checks that the socket and log are alive at least this often.
_IDLE_CHECK_SECONDS = 30.0
_decode = msgspec.json.Decoder(dict)
_encode = msgspec.json.Encoder()


class _Session:
    def __init__(self, socket: WebSocket[Any, Any, Any], log: EventLog, principal: Principal) -> None:
        self.socket = socket
        self.log = log
        self.principal = principal
        self.bad = 0
        self.task: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.socket.send_text(_encode.encode(message).decode())

    async def refuse(self, code: str, detail: str) -> bool:
        """Send an error frame; True when the socket was closed for repeated garbage."""
        self.bad += 1
        await self.send({"type": "error", "code": code, "detail": detail})
        if self.bad >= MAX_BAD_MESSAGES:
            await self.socket.close(code=CloseCode.POLICY, reason="too many bad messages")
            return True
        return False

    async def handle(self, text: str) -> bool:
        """Handle one client frame; True when the socket must end."""
        if len(text.encode()) > MAX_MESSAGE_BYTES:
            return await self.refuse("too_large", f"messages are at most {MAX_MESSAGE_BYTES} bytes")
        try:
            message = _decode.decode(text)
        except msgspec.DecodeError:
            return await self.refuse("bad_json", "send one JSON object per text frame")
        kind = message.get("type")
        if kind == "subscribe":
            return await self.subscribe(message)
        if kind == "unsubscribe":
            await self.stop()
            await self.send({"type": "unsubscribed"})
            return False
        if kind == "ping":
            await self.send({"type": "pong", "head": self.log.head})
            return False
        return await self.refuse("unknown_type", "type must be subscribe, unsubscribe or ping")

    async def subscribe(self, message: dict[str, Any]) -> bool:
        since = message.get("since")
        types = message.get("types")
        fields = {name: message.get(name) for name in ("record", "layout", "user")}
        if since is not None and (not isinstance(since, int) or isinstance(since, bool) or since < 0):
            return await self.refuse("bad_request", "since must be an event seq (a whole number)")
        if types is not None and not (isinstance(types, list) and all(isinstance(t, str) for t in types)):
            return await self.refuse("bad_request", "types must be a list of event type names")
        if any(value is not None and not isinstance(value, str) for value in fields.values()):
            return await self.refuse("bad_request", "record, layout and user must be strings")
        try:
            filter = make_filter(self.principal, types=types, **fields)
        except AccessDenied as exc:
            await self.send({"type": "error", "code": exc.code, "detail": exc.detail})
            return False
        except CollabError as exc:
            return await self.refuse("bad_request", exc.detail)
        await self.stop()
        cursor = self.log.head if since is None else since
        await self.send({"type": "subscribed", "next": cursor})
        self.task = asyncio.create_task(self.pump(filter, cursor), name="collab-events-ws")
        return False

    async def pump(self, filter: EventFilter, cursor: int) -> None:
        try:
            while self.log.running:
                page = await self.log.wait(cursor, filter, self.principal, _IDLE_CHECK_SECONDS)
                for event in page.events:
                    await self.send({"type": "event", "event": event.wire()})
                cursor = page.next
        except Exception as exc:  # noqa: BLE001 - the socket went away under us; the reader ends it
            log.debug("event socket pump ended: %s", type(exc).__name__)

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@websocket("/events", name="events:socket")
async def events_socket(socket: WebSocket[Any, Any, Any]) -> None:
    ctx = context_of(socket)
    events = ctx.events
    assert isinstance(events, EventLog), "the events component is not installed"
    origin = socket.headers.get("origin")
    if ctx.auth is not None and not ctx.auth.origin_allowed(origin):
        await socket.accept()
        await socket.close(code=CloseCode.POLICY, reason="origin not allowed")
        return
    try:
        principal = principal_of(socket)
    except AccessDenied as exc:
        await socket.accept()
        code = CloseCode.UNAUTHORIZED if exc.status == 401 else CloseCode.FORBIDDEN
        await socket.close(code=code, reason=exc.code)
        return
    await socket.accept()
    session = _Session(socket, events, principal)
    ctx.metrics.event_subscribers.inc()
    try:
        while True:
            frame = await socket.receive()
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            if not isinstance(text, str):
                if await session.refuse("binary", "send JSON in text frames"):
                    return
                continue
            if await session.handle(text):
                return
    finally:
        ctx.metrics.event_subscribers.dec()
        await session.stop()
