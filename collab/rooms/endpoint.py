"""``/sync/{database}/{layout}/{key}``: the y-websocket endpoint as a plain ASGI handler.

Litestar mounts it (``collab.rooms.component``) but its websocket machinery stays out of the
hot path: one receive loop per connection calls straight into the room. Every check (path,
Origin, token, layout, record scope, capacity) happens right after the handshake and before
any document byte is sent; a refusal is a close code with a reason.

A sweeper task (one for the whole hub) enforces the handshake and idle timeouts, so a
connection costs no timer of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from collab.auth.principal import ANONYMOUS_EDITOR, Principal
from collab.context import HubContext
from collab.errors import AccessDenied, CloseCode, ProtocolError, StoreError
from collab.protocol.sync import FRESH_STEP1, step2_frame, update_frame
from collab.records import RecordKey
from collab.rooms.connection import AWAITING_STEP1, Connection
from collab.rooms.registry import RoomRegistry
from collab.rooms.room import Room
from collab.rooms.seeding import RoomUnavailable
from collab.rooms.store import StoredRoom

__all__ = ["PREFIX", "SyncEndpoint"]

log = logging.getLogger("collab.sync")

PREFIX = "/sync/"
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class SyncEndpoint:
    def __init__(self, ctx: HubContext, registry: RoomRegistry) -> None:
        self.ctx = ctx
        self.registry = registry
        self.limits = ctx.settings.limits
        self.live: set[Connection] = set()
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.wait([self._sweeper])
            self._sweeper = None
        await self.registry.close()

    # -- one connection --------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await _http_upgrade_required(send)
            return
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        try:
            record, principal, control = self._admit(scope)
        except Refused as refused:
            await self._refuse(send, refused)
            return
        del scope  # its headers are read: an open socket need not keep them
        conn = Connection(
            uuid.uuid4().hex[:16],
            principal,
            send,
            control=control,
            queue_limit=self.limits.outbound_queue_bytes,
            rate=self.limits.messages_per_second,
            burst=self.limits.message_burst,
        )
        # When the room must be loaded, the client's first message (its sync step 1) is read
        # meanwhile: a fresh plain client is answered from the stored state before the document
        # is built (cold load). Control clients learn their access (Hello, AccessState) first.
        # The list holds the read until the receive loop takes it (nothing per connection after).
        first: list[asyncio.Future[dict[str, Any]]] = []
        early = None
        if self.registry.loaded(record) is None:
            first.append(asyncio.ensure_future(receive()))
            early = None if control else _EarlyAnswer(conn, first[0])
        try:
            room = await self._room(record, early)
        except Refused as refused:
            for pending in first:
                pending.cancel()
            await self._refuse(send, refused)
            return
        answered = early is not None and early.answered
        early = None
        self.live.add(conn)
        self.registry.connection_count += 1
        self.ctx.metrics.connections.inc()
        try:
            room.join(conn, answered_early=answered)
            if answered:
                self._count(conn, len(FRESH_STEP1))
                first.clear()  # it was the step 1 just answered
            await self._receive_loop(conn, room, receive, first)
        finally:
            for pending in first:
                pending.cancel()
            self.live.discard(conn)
            self.registry.connection_count -= 1
            self.ctx.metrics.connections.dec()
            room.leave(conn)
            self.registry.release(room)
            await conn.finish()

    def _admit(self, scope: dict[str, Any]) -> tuple[RecordKey, Principal, bool]:
        raw = scope.get("raw_path") or scope["path"].encode()
        path = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
        if not path.startswith(PREFIX):
            raise Refused(CloseCode.NOT_FOUND, "use /sync/{database}/{layout}/{key}")
        try:
            record = RecordKey.parse(path[len(PREFIX) :])
        except ValueError:
            raise Refused(CloseCode.NOT_FOUND, "use /sync/{database}/{layout}/{key} (parts percent-encoded)") from None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [None])[0]
        control = (query.get("control") or ["0"])[0] in ("1", "true", "yes")
        principal = self._principal(scope, token)
        settings = self.ctx.settings
        if settings.layout(record.database, record.layout) is None:
            raise Refused(CloseCode.NOT_FOUND, f"layout {record.layout_path} is not configured on this hub")
        if not principal.may_open(record):
            raise Refused(CloseCode.FORBIDDEN, "your token does not cover this record")
        if self.registry.connection_count >= self.limits.max_connections:
            raise Refused(CloseCode.TRY_AGAIN, "the hub is at its connection limit; try again later")
        return record, principal, control

    def _principal(self, scope: dict[str, Any], token: str | None) -> Principal:
        auth = self.ctx.auth
        if auth is None:
            server = self.ctx.settings.server
            if server.demo or server.allow_anonymous:
                return ANONYMOUS_EDITOR
            raise Refused(CloseCode.UNAUTHORIZED, "authentication is not configured on this hub")
        origin = None
        for name, value in scope.get("headers", ()):
            if name == b"origin":
                origin = value.decode("latin-1")
                break
        if not auth.origin_allowed(origin):
            raise Refused(CloseCode.POLICY, "Origin not allowed")
        try:
            return auth.authenticate(token)
        except AccessDenied as exc:
            code = CloseCode.UNAUTHORIZED if exc.status == 401 else CloseCode.FORBIDDEN
            raise Refused(code, exc.detail) from None

    async def _refuse(self, send: Send, refused: Refused) -> None:
        log.info("sync refused (%s): %s", refused.code, refused.reason)
        self.registry.stats.closed(refused.code)
        await send({"type": "websocket.close", "code": refused.code, "reason": refused.reason[:120]})

    async def _room(self, record: RecordKey, early: _EarlyAnswer | None) -> Room:
        try:
            async with asyncio.timeout(self.limits.handshake_timeout_seconds):
                room = await self.registry.acquire(record, early)
        except RoomUnavailable as exc:
            raise Refused(exc.close_code, exc.detail) from None
        except StoreError as exc:
            log.error("cannot load %s: %s", record, exc.detail)
            raise Refused(CloseCode.TRY_AGAIN, "the hub's store is not available; try again") from None
        except TimeoutError:
            raise Refused(CloseCode.TRY_AGAIN, "loading the record took too long; try again") from None
        if len(room.connections) >= self.limits.max_connections_per_room:
            self.registry.release(room)
            raise Refused(CloseCode.TRY_AGAIN, "this record has too many connections; try again later")
        return room

    def _count(self, conn: Connection, size: int) -> None:
        now = time.monotonic()
        conn.last_recv = now
        conn.take_token(now)
        self.registry.stats.messages_in += 1
        self.registry.stats.bytes_in += size

    async def _receive_loop(
        self, conn: Connection, room: Room, receive: Receive, first: list[asyncio.Future[dict[str, Any]]]
    ) -> None:
        max_bytes = self.limits.max_message_bytes
        stats = self.registry.stats
        monotonic = time.monotonic
        message: dict[str, Any] | None = await first[0] if first else None
        first.clear()
        while True:
            if message is None:
                message = await receive()
            kind, data = message["type"], message.get("bytes")
            message = None  # an idle connection keeps no message alive while it waits
            if kind != "websocket.receive":
                if kind == "websocket.disconnect":
                    return
                continue
            if conn.closing:
                continue  # we are closing it; ignore what is still in flight
            if data is None:
                self._close(conn, CloseCode.POLICY, "text messages are not part of the y-websocket protocol")
                continue
            size = len(data)
            if size > max_bytes:
                self._close(conn, CloseCode.TOO_BIG, f"message of {size} bytes exceeds the {max_bytes} byte limit")
                continue
            now = monotonic()
            conn.last_recv = now
            if not conn.take_token(now):
                self._close(conn, CloseCode.POLICY, "message rate limit exceeded")
                continue
            stats.messages_in += 1
            stats.bytes_in += size
            try:
                room.receive(conn, data)
            except ProtocolError as exc:
                self._close(conn, exc.close_code, exc.detail)
            data = None

    def _close(self, conn: Connection, code: int, reason: str) -> None:
        log.info("closing connection %s (%s): %s", conn.id, code, reason)
        conn.close(code, reason)

    # -- timeouts and metrics --------------------------------------------------------------

    async def _sweep(self) -> None:
        limits = self.limits
        interval = max(0.05, min(1.0, limits.handshake_timeout_seconds / 4, limits.idle_timeout_seconds / 4))
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            stats = self.registry.stats
            for conn in list(self.live):
                if conn.drops:
                    stats.dropped("awareness", conn.drops)
                    conn.drops = 0
                if conn.closing:
                    continue
                if conn.state == AWAITING_STEP1 and now - conn.opened > limits.handshake_timeout_seconds:
                    self._close(conn, CloseCode.POLICY, "no sync step 1 within the handshake timeout")
                elif now - conn.last_recv > limits.idle_timeout_seconds:
                    self._close(conn, CloseCode.GOING_AWAY, "idle for too long")
            stats.publish()


#: How long a room load waits for a plain client's first message before building the document.
EARLY_WAIT_SECONDS = 0.02


class _EarlyAnswer:
    """Called by the registry with the stored state of a loading room, before its document
    is built: if the client's first message is already here and it is a fresh client's sync
    step 1, its sync step 2 is the stored updates themselves (snapshot first, then the log)."""

    __slots__ = ("answered", "conn", "first")

    def __init__(self, conn: Connection, first: asyncio.Future[dict[str, Any]]) -> None:
        self.conn = conn
        self.first = first
        self.answered = False

    async def __call__(self, stored: StoredRoom) -> None:
        first = self.first
        if not first.done():
            # A client sends its step 1 on open, often a round trip after the store read ended.
            await asyncio.wait([first], timeout=EARLY_WAIT_SECONDS)
        if not first.done() or first.cancelled() or first.exception() is not None or not stored.updates:
            return
        message = first.result()
        if message["type"] != "websocket.receive" or message.get("bytes") != FRESH_STEP1:
            return  # anything else takes the ordinary path once the room is loaded
        self.answered = True
        updates = stored.updates
        self.conn.push_sync(step2_frame(updates[0]))
        for update in updates[1:]:
            self.conn.push_sync(update_frame(update))


async def _http_upgrade_required(send: Send) -> None:
    body = b"/sync/... is a WebSocket endpoint (y-websocket protocol)\n"
    await send(
        {
            "type": "http.response.start",
            "status": 426,
            "headers": [(b"content-type", b"text/plain"), (b"upgrade", b"websocket")],
        }
    )
    await send({"type": "http.response.body", "body": body})
