"""The hub's WebSocket protocol for uvicorn (``uvicorn.Config(ws=WebSocketProtocol)``).

uvicorn's own WebSocket protocols keep about 19 KB of Python objects per open socket (the
parsed request and response with their header objects, an ``asyncio.Queue``, an ``Event``, the
sans-I/O state machine) and build a frame object per message. A hub holds thousands of idle
sockets, so this one keeps only what a socket needs while it waits: the transport, a partial
frame, and one future for the app's pending ``receive()``. It speaks RFC 6455 without
extensions (no permessage-deflate: Yjs updates are small and deflate doubles CPU per update)
and the ASGI WebSocket interface, minus the HTTP response extension.

Incoming frames are parsed as they arrive; a frame that declares more than ``ws_max_size``
bytes is refused (1009) before its payload is read. Text must be UTF-8 (1007); any other
breach of the framing rules closes with 1002. Messages wait for the app in a short list; once
it holds ``INBOX_LIMIT``, reading from the socket pauses until the app catches up, so what a
client can queue is bounded by that plus one read (at most 256 KiB).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import random
import struct
import weakref
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import unquote

from uvicorn.config import Config
from uvicorn.protocols.utils import (
    ClientDisconnected,
    get_local_addr,
    get_remote_addr,
    is_ssl,
)
from uvicorn.server import ServerState

__all__ = ["WebSocketProtocol", "apply_mask", "frame_header"]

log = logging.getLogger("collab.websocket")
#: uvicorn's logger and format for each handshake, as with uvicorn's own protocols.
access_log = logging.getLogger("uvicorn.error")

def _py_apply_mask(data: bytes | bytearray | memoryview, mask: bytes) -> bytes:
    size = len(data)
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")


def _fast_apply_mask() -> Callable[[Any, Any], bytes]:
    try:  # the C helper shipped with the websockets package (a uvicorn[standard] dependency)
        from websockets.speedups import apply_mask as fast
    except ImportError:  # pragma: no cover - websockets without its compiled speedups
        return _py_apply_mask
    return fast


apply_mask = _fast_apply_mask()

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
#: Close codes a peer may send (RFC 6455 7.4.1 plus the registered 1012-1014 and 3000-4999).
_SENDABLE = frozenset((1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014))
#: Read pauses while this many messages wait for the app (uvicorn pauses at one).
INBOX_LIMIT = 16
CLOSE_TIMEOUT = 10.0

# States
HANDSHAKE, CONNECTING, OPEN, CLOSING, CLOSED = range(5)


#: Where ``send_now`` keeps a message's framed bytes (not an ASGI key; other servers ignore it).
WIRE_KEY = "collab.wire"


def frame_header(opcode: int, size: int) -> bytes:
    """A final, unmasked (server) frame's header."""
    if size < 126:
        return bytes((0x80 | opcode, size))
    if size < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, size)
    return struct.pack("!BBQ", 0x80 | opcode, 127, size)


def _close_payload(code: int, reason: str) -> bytes:
    if code in (1005, 1006):  # "no status" codes are never sent on the wire
        return b""
    return code.to_bytes(2, "big") + reason.encode()[:123]


def _accept_key(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


class _Fail(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class WebSocketProtocol(asyncio.Protocol):
    __slots__ = (
        "app",
        "app_state",
        "buffer",
        "close_timer",
        "config",
        "connections",
        "disconnect",
        "drained",
        "fragments",
        "fragments_opcode",
        "fragments_size",
        "handshake_key",
        "inbox",
        "loop",
        "max_size",
        "ping_at",
        "ping_payload",
        "read_paused",
        "scope",
        "server_state",
        "state",
        "transport",
        "waiter",
    )

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()  # pragma: no cover
        self.config = config
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.server_state = server_state
        self.app_state = app_state
        self.connections = server_state.connections
        self.max_size = config.ws_max_size
        self.transport: asyncio.Transport = cast(asyncio.Transport, None)
        self.state = HANDSHAKE
        self.buffer: bytearray | None = None
        self.scope: dict[str, Any] | None = None
        self.handshake_key = b""
        self.inbox: list[dict[str, Any]] = []
        self.waiter: asyncio.Future[dict[str, Any]] | None = None
        #: The disconnect message, once the app has been told (or will be, next receive).
        self.disconnect: dict[str, Any] | None = None
        self.read_paused = False
        self.drained: asyncio.Future[None] | None = None
        self.fragments: list[bytes] | None = None
        self.fragments_opcode = 0
        self.fragments_size = 0
        #: When the next ping is due, or (with a ping in flight) when its pong is overdue.
        self.ping_at = 0.0
        self.ping_payload: bytes | None = None
        self.close_timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.connections.add(self)  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)
        self.state = CLOSED
        self.buffer = None
        self._stop_timers()
        self._deliver_disconnect(1006, "")  # no-op when a close frame already told the app
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)  # a send waiting for the buffer to drain: it never will

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def pause_writing(self) -> None:
        if self.drained is None:
            self.drained = self.loop.create_future()

    def resume_writing(self) -> None:
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        chunk: bytes | bytearray = data
        if buffer is not None:
            buffer += data
            chunk = buffer  # parsed in place
        try:
            if self.state == HANDSHAKE:
                end = chunk.find(b"\r\n\r\n")
                if end < 0:
                    self._keep(chunk, 0)
                    return
                self._handshake(bytes(chunk[: end + 4]))
                self._keep(chunk, end + 4)
            elif self.state == CONNECTING:
                self._keep(chunk, 0)  # frames sent before our 101: read once the app accepts
            elif self.state in (OPEN, CLOSING):
                self._keep(chunk, self._frames(chunk))
        except _Fail as failure:
            self._fail(failure.code, failure.reason)

    def _keep(self, data: bytes | bytearray, pos: int) -> None:
        """Hold ``data[pos:]`` until more arrives (reusing the buffer when nothing was used)."""
        if pos >= len(data) or self.state == CLOSED:
            self.buffer = None
        elif pos == 0 and isinstance(data, bytearray):
            self.buffer = data
        else:
            self.buffer = bytearray(data[pos:])

    def shutdown(self) -> None:
        """uvicorn is stopping: close with 1012 (service restart)."""
        if self.state in (HANDSHAKE, CONNECTING):
            self._http_error(500, "the server is shutting down")
            return
        if self.state == OPEN:
            self._deliver_disconnect(1012, "")
            self._write_close(1012, "")
        self.transport.close()

    # -- the opening handshake ---------------------------------------------------------------

    def _handshake(self, request: bytes) -> None:
        lines = request.split(b"\r\n")
        method, _, rest = lines[0].partition(b" ")
        target, _, _version = rest.partition(b" ")
        headers: list[tuple[bytes, bytes]] = []
        key = version = b""
        subprotocols: list[str] = []
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip()
            headers.append((name, value))
            if name == b"sec-websocket-key":
                key = value
            elif name == b"sec-websocket-version":
                version = value
            elif name == b"sec-websocket-protocol":
                subprotocols.extend(p.strip() for p in value.decode("latin-1").split(",") if p.strip())
        if method != b"GET":
            self._http_error(405, "a WebSocket handshake is a GET request")
            return
        if version != b"13":
            self._http_error(426, "this server speaks WebSocket version 13", [(b"sec-websocket-version", b"13")])
            return
        try:
            valid_key = len(base64.b64decode(key, validate=True)) == 16
        except ValueError:
            valid_key = False
        if not valid_key:
            self._http_error(400, "missing or invalid Sec-WebSocket-Key")
            return
        self.handshake_key = key
        raw_path, _, query = target.partition(b"?")
        root = self.config.root_path
        self.scope = {
            "type": "websocket",
            "asgi": {"version": self.config.asgi_version, "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "wss" if is_ssl(self.transport) else "ws",
            "server": get_local_addr(self.transport),
            "client": get_remote_addr(self.transport),
            "root_path": root,
            "path": root + unquote(raw_path.decode("latin-1")),
            "raw_path": root.encode("ascii") + raw_path,
            "query_string": query,
            "headers": headers,
            "subprotocols": subprotocols,
            "state": self.app_state.copy(),
        }
        self.state = CONNECTING
        self.inbox.append({"type": "websocket.connect"})
        task = self.loop.create_task(self._run_app())
        self.server_state.tasks.add(task)
        task.add_done_callback(self.server_state.tasks.discard)

    def _http_error(self, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        body = (text + "\n").encode()
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()]
        for name, value in [*self.server_state.default_headers, *(headers or [])]:
            head.append(name + b": " + value)
        head += [b"content-type: text/plain; charset=utf-8", b"content-length: %d" % len(body), b"connection: close"]
        self.state = CLOSED
        if not self.transport.is_closing():
            self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
            self.transport.close()

    def _log_access(self, outcome: str) -> None:
        scope, self.scope = self.scope, None
        if scope is not None and access_log.isEnabledFor(logging.INFO):
            client = scope["client"]
            who = f"{client[0]}:{client[1]}" if client else ""
            query = scope["query_string"].decode("latin-1")
            target = scope["path"] + ("?" + query if query else "")
            access_log.info('%s - "WebSocket %s" %s', who, target, outcome)

    def _accept(self, message: dict[str, Any]) -> None:
        self._log_access("[accepted]")
        lines = [
            b"HTTP/1.1 101 Switching Protocols",
            b"upgrade: websocket",
            b"connection: Upgrade",
            b"sec-websocket-accept: " + _accept_key(self.handshake_key),
        ]
        subprotocol = message.get("subprotocol")
        if subprotocol:
            lines.append(b"sec-websocket-protocol: " + subprotocol.encode("latin-1"))
        for name, value in [*self.server_state.default_headers, *message.get("headers", ())]:
            lines.append(bytes(name) + b": " + bytes(value))
        self.handshake_key = b""
        self.state = OPEN
        self.transport.write(b"\r\n".join(lines) + b"\r\n\r\n")
        _keepalive(self.server_state, self.config, self.loop).add(self)
        if self.buffer:
            self.data_received(b"")

    async def _run_app(self) -> None:
        try:
            # No local name for the scope: from the accept on, only the app holds it.
            await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except asyncio.CancelledError:
            self._end(1012, "")  # the server is stopping the app
            raise
        except BaseException:
            log.exception("Exception in ASGI application")
            self._end(1011, "internal error")
        else:
            if self.state == CONNECTING:
                log.error("ASGI callable returned without completing the WebSocket handshake.")
            self._end(1000, "")

    def _end(self, code: int, reason: str) -> None:
        """The app is done: refuse the handshake, or close the socket (the app did not)."""
        if self.state == CONNECTING:
            self._http_error(500, "Internal Server Error")
        elif self.state == OPEN:
            self._write_close(code, reason)
            self.state = CLOSED
            self.transport.close()
        elif self.state == CLOSED:
            self.transport.close()
        # CLOSING: the peer's close reply (or the close timer) ends it

    # -- frames in ---------------------------------------------------------------------------

    def _frames(self, data: bytes | bytearray) -> int:
        """Handle every complete frame in ``data``; return where the incomplete rest starts."""
        pos = 0
        end = len(data)
        max_size = self.max_size
        while end - pos >= 2 and self.state in (OPEN, CLOSING):
            b0 = data[pos]
            b1 = data[pos + 1]
            size = b1 & 0x7F
            head = 6
            if size == 126:
                if end - pos < 8:
                    break
                size = int.from_bytes(data[pos + 2 : pos + 4], "big")
                head = 8
            elif size == 127:
                if end - pos < 14:
                    break
                size = int.from_bytes(data[pos + 2 : pos + 10], "big")
                head = 14
            opcode = b0 & 0x0F
            if b0 & 0x70:
                raise _Fail(1002, "reserved bits set without an extension")
            if not b1 & 0x80:
                raise _Fail(1002, "client frames must be masked")
            if opcode >= 8:
                if not b0 & 0x80 or size > 125:
                    raise _Fail(1002, "control frames must be final and at most 125 bytes")
            elif size + self.fragments_size > max_size:
                raise _Fail(1009, f"message exceeds {max_size} bytes")
            if end - pos < head + size:
                break
            start = pos + head
            payload = apply_mask(data[start : start + size], data[start - 4 : start])
            pos = start + size
            self._frame(b0 & 0x80, opcode, payload)
        return pos

    def _frame(self, fin: int, opcode: int, payload: bytes) -> None:
        if opcode == BINARY or opcode == TEXT:
            if self.fragments is not None:
                raise _Fail(1002, "a new message started before the fragmented one ended")
            if fin:
                self._message(opcode, payload)
            else:
                self.fragments = [payload]
                self.fragments_opcode = opcode
                self.fragments_size = len(payload)
        elif opcode == CONT:
            if self.fragments is None:
                raise _Fail(1002, "a continuation frame with nothing to continue")
            self.fragments.append(payload)
            self.fragments_size += len(payload)
            if fin:
                data = b"".join(self.fragments)
                kind = self.fragments_opcode
                self.fragments = None
                self.fragments_size = 0
                self._message(kind, data)
        elif opcode == PING:
            if self.state == OPEN:
                self.transport.write(frame_header(PONG, len(payload)) + payload)
        elif opcode == PONG:
            if self.ping_payload is not None and payload == self.ping_payload:
                self.ping_payload = None
                self.ping_at = self.loop.time() + (self.config.ws_ping_interval or 0.0)
        elif opcode == CLOSE:
            self._peer_close(payload)
        else:
            raise _Fail(1002, f"unknown opcode {opcode}")

    def _message(self, opcode: int, payload: bytes) -> None:
        if self.state != OPEN:
            return  # past our close frame: drop, keep reading until the peer's close
        if opcode == TEXT:
            try:
                message: dict[str, Any] = {"type": "websocket.receive", "text": payload.decode()}
            except UnicodeDecodeError:
                raise _Fail(1007, "text message is not valid UTF-8") from None
        else:
            message = {"type": "websocket.receive", "bytes": payload}
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            self.waiter = None
            waiter.set_result(message)
            return
        self.inbox.append(message)
        if len(self.inbox) >= INBOX_LIMIT and not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def _peer_close(self, payload: bytes) -> None:
        if len(payload) == 1:
            raise _Fail(1002, "a close frame's payload is a code and a reason")
        code, reason = 1005, ""
        if payload:
            code = int.from_bytes(payload[:2], "big")
            if code not in _SENDABLE and not 3000 <= code <= 4999:
                raise _Fail(1002, f"close code {code} is not allowed")
            try:
                reason = payload[2:].decode()
            except UnicodeDecodeError:
                raise _Fail(1007, "close reason is not valid UTF-8") from None
        if self.state == CLOSING:  # the peer answered our close: the handshake is complete
            self.state = CLOSED
            self.transport.close()
            return
        self._deliver_disconnect(code, reason)
        self.transport.write(frame_header(CLOSE, len(payload[:2])) + payload[:2])
        self.state = CLOSED
        self.transport.close()

    def _fail(self, code: int, reason: str) -> None:
        log.info("closing a WebSocket (%s): %s", code, reason)
        if self.state == OPEN:
            self._write_close(code, reason)
        self._deliver_disconnect(code, reason)
        self.state = CLOSED
        self.buffer = None
        self.transport.close()

    def _write_close(self, code: int, reason: str) -> None:
        payload = _close_payload(code, reason)
        self.transport.write(frame_header(CLOSE, len(payload)) + payload)

    # -- keepalive ---------------------------------------------------------------------------

    def _stop_timers(self) -> None:
        keepalive = _KEEPALIVES.get(self.server_state)
        if keepalive is not None:
            keepalive.sockets.discard(self)
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None

    # -- the ASGI side -----------------------------------------------------------------------

    def _deliver_disconnect(self, code: int, reason: str) -> None:
        if self.disconnect is not None:
            return
        self.disconnect = {"type": "websocket.disconnect", "code": code, "reason": reason}
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            self.waiter = None
            waiter.set_result(self.disconnect)

    def receive(self) -> asyncio.Future[dict[str, Any]]:
        """ASGI ``receive``: a future rather than a coroutine, so a socket waiting for its next
        message holds no frame for it."""
        inbox = self.inbox
        future: asyncio.Future[dict[str, Any]] = self.loop.create_future()
        if inbox:
            future.set_result(inbox.pop(0))
            if self.read_paused and len(inbox) < INBOX_LIMIT // 2 and self.state in (OPEN, CLOSING):
                self.read_paused = False
                self.transport.resume_reading()
        elif self.disconnect is not None:
            future.set_result(self.disconnect)
        else:
            self.waiter = future  # resolved by the next message or the disconnect (one reader)
        return future

    def send_now(self, message: dict[str, Any]) -> bool:
        """Write a binary ``websocket.send`` at once if nothing stands in the way; False means
        "use ``send``" (not open yet or any more, the transport paused, not binary).

        The framed bytes are kept in the message under ``WIRE_KEY``: a broadcast shares one
        message among its recipients, and a server frame is the same bytes for each of them."""
        wire = message.get(WIRE_KEY)
        if wire is None:
            data = message.get("bytes")
            if data is None or message["type"] != "websocket.send":
                return False
            wire = message[WIRE_KEY] = frame_header(BINARY, len(data)) + data
        if self.state != OPEN or self.drained is not None:
            return False
        self.transport.write(wire)
        return True

    async def send(self, message: dict[str, Any]) -> None:
        if self.drained is not None:
            await asyncio.shield(self.drained)
        kind = message["type"]
        state = self.state
        if state == OPEN:
            if kind == "websocket.send":
                data = message.get("bytes")
                if data is not None:
                    self.transport.write(frame_header(BINARY, len(data)) + data)
                    return
                text = message.get("text")
                if text is None:
                    raise RuntimeError("websocket.send needs 'bytes' or 'text'")
                encoded = text.encode()
                self.transport.write(frame_header(TEXT, len(encoded)) + encoded)
                return
            if kind == "websocket.close":
                code = message.get("code") or 1000
                reason = message.get("reason") or ""
                self._write_close(code, reason)
                self._deliver_disconnect(code, reason)
                self.state = CLOSING
                self.inbox.clear()
                if self.read_paused:
                    self.read_paused = False
                    self.transport.resume_reading()
                self.close_timer = self.loop.call_later(CLOSE_TIMEOUT, self.transport.close)
                return
            raise RuntimeError(f"Expected 'websocket.send' or 'websocket.close', got '{kind}'")
        if state == CONNECTING:
            if kind == "websocket.accept":
                self._accept(message)
                return
            if kind == "websocket.close":
                self._log_access("403")
                self._deliver_disconnect(1006, "")
                self._http_error(403, "Forbidden")
                return
            raise RuntimeError(f"Expected 'websocket.accept' or 'websocket.close', got '{kind}'")
        raise ClientDisconnected()


class _Keepalive:
    """One timer pings every open socket of a server (a timer per socket costs ~0.5 KB).

    Each socket is pinged ``ws_ping_interval`` seconds after its last pong; one that has not
    answered ``ws_ping_timeout`` seconds after a ping is closed with 1011. The timer ticks at a
    quarter of the shorter of the two, so either happens at most that much late.
    """

    __slots__ = ("handle", "interval", "loop", "period", "sockets", "timeout")

    def __init__(self, config: Config, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.interval = config.ws_ping_interval or 0.0
        self.timeout = config.ws_ping_timeout or 0.0
        self.period = min(t for t in (self.interval, self.timeout, 60.0) if t > 0) / 4
        self.sockets: set[WebSocketProtocol] = set()
        self.handle: asyncio.TimerHandle | None = None

    def add(self, sock: WebSocketProtocol) -> None:
        if self.interval <= 0:
            return
        sock.ping_at = self.loop.time() + self.interval
        self.sockets.add(sock)
        if self.handle is None:
            self.handle = self.loop.call_later(self.period, self._tick)

    def _tick(self) -> None:
        self.handle = None
        now = self.loop.time()
        for sock in list(self.sockets):
            if now < sock.ping_at:
                continue
            if sock.state != OPEN or sock.transport.is_closing():
                self.sockets.discard(sock)
            elif sock.ping_payload is not None:
                self.sockets.discard(sock)
                sock._fail(1011, "keepalive ping timeout")
            else:
                sock.ping_payload = struct.pack("!I", random.getrandbits(32))
                sock.transport.write(frame_header(PING, 4) + sock.ping_payload)
                if self.timeout > 0:
                    sock.ping_at = now + self.timeout
                else:  # no pong expected: the next ping after another interval
                    sock.ping_payload = None
                    sock.ping_at = now + self.interval
        if self.sockets:
            self.handle = self.loop.call_later(self.period, self._tick)


#: One keepalive per uvicorn server (its protocols share the ServerState).
_KEEPALIVES: weakref.WeakKeyDictionary[ServerState, _Keepalive] = weakref.WeakKeyDictionary()


def _keepalive(state: ServerState, config: Config, loop: asyncio.AbstractEventLoop) -> _Keepalive:
    keepalive = _KEEPALIVES.get(state)
    if keepalive is None or keepalive.loop is not loop:
        keepalive = _KEEPALIVES[state] = _Keepalive(config, loop)
    return keepalive
