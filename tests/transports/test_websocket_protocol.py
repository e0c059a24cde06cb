"""The hub's own WebSocket protocol (collab.transports.websocket) under real uvicorn, from the
ASGI side: what an app sees and can do (accept, refuse, subprotocols, return, raise), keepalive,
shutdown, and the bounds on what a client can queue. The wire rules are in test_websocket_wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn

from collab.transports.websocket import INBOX_LIMIT, WebSocketProtocol, apply_mask, frame_header
from tests.support.server import free_port, run_app
from tests.transports.test_websocket_wire import (
    BINARY,
    PING,
    PONG,
    TIMEOUT,
    client_frame,
    do_handshake,
    expect_eof,
    read_close,
    read_frame,
    send,
)

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class Served:
    def __init__(self, port: int, server: uvicorn.Server) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = server


@asynccontextmanager
async def serve(app: App, **options: Any) -> AsyncIterator[Served]:
    port = free_port()

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await app(scope, receive, send)

    config = uvicorn.Config(
        asgi, host="127.0.0.1", port=port, ws=WebSocketProtocol, log_config=None, lifespan="on", **options
    )
    async with run_app(asgi, "127.0.0.1", port, config=config) as server:
        yield Served(port, server)


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "bytes": message.get("bytes"), "text": message.get("text")})


def test_mask_helpers_agree() -> None:
    from collab.transports.websocket import _py_apply_mask

    data = bytes(range(256)) * 3 + b"xyz"
    mask = b"\x01\x80\xfe\x33"
    assert apply_mask(data, mask) == _py_apply_mask(data, mask)
    assert _py_apply_mask(_py_apply_mask(data, mask), mask) == data
    assert frame_header(BINARY, 125) == b"\x82\x7d"
    assert frame_header(BINARY, 126) == b"\x82\x7e\x00\x7e"
    assert frame_header(BINARY, 70_000)[:2] == b"\x82\x7f"


def test_an_idle_socket_holds_no_dict() -> None:
    # __slots__ all the way down: what an idle socket costs is what the slots name.
    assert not hasattr(WebSocketProtocol.__new__(WebSocketProtocol), "__dict__")


async def test_echo_scope_and_subprotocol() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scope)
        await receive()
        await send({"type": "websocket.accept", "subprotocol": "two", "headers": [(b"x-hub", b"yes")]})
        message = await receive()
        await send({"type": "websocket.send", "text": message["text"].upper()})
        await receive()

    async with serve(app) as served:
        reader, writer, status, headers = await do_handshake(
            served, "/a%20b/c?token=t&x=1", {"Sec-WebSocket-Protocol": "one, two", "Origin": "http://x"}
        )
        assert status.split()[1] == "101"
        assert headers["sec-websocket-protocol"] == "two" and headers["x-hub"] == "yes"
        await send(writer, client_frame(0x1, "héllo".encode()))
        fin, opcode, payload = await read_frame(reader)
        assert (fin, opcode, payload.decode()) == (True, 0x1, "HÉLLO")
        writer.close()
    assert seen["path"] == "/a b/c" and seen["raw_path"] == b"/a%20b/c"
    assert seen["query_string"] == b"token=t&x=1"
    assert seen["subprotocols"] == ["one", "two"]
    assert (b"origin", b"http://x") in seen["headers"]
    assert seen["scheme"] == "ws" and seen["client"][0] == "127.0.0.1"


async def test_frames_sent_before_the_accept_are_kept() -> None:
    called, go = asyncio.Event(), asyncio.Event()
    got: list[bytes] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        called.set()
        await go.wait()
        await send({"type": "websocket.accept"})
        got.append((await receive())["bytes"])
        await receive()

    async with serve(app) as served:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        request = (
            "GET /early HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await send(writer, request.encode())
        await asyncio.wait_for(called.wait(), TIMEOUT)
        # The app has not accepted yet (no 101 sent): a frame now must wait for the accept.
        await send(writer, client_frame(BINARY, b"early"))
        await wait_until(lambda: bool(protocol_buffers(served)))
        go.set()
        status = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert status.startswith(b"HTTP/1.1 101")
        await wait_until(lambda: got == [b"early"])
        writer.close()


def protocol_buffers(served: Served) -> list[bytearray]:
    protocols: list[Any] = list(served.server.server_state.connections)
    return [p.buffer for p in protocols if isinstance(p, WebSocketProtocol) and p.buffer]


async def wait_until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("behaviour", "status"),
    [("close", "403"), ("return", "500"), ("raise", "500")],
)
async def test_refusing_before_the_accept_is_an_http_answer(behaviour: str, status: str) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        if behaviour == "close":
            await send({"type": "websocket.close", "code": 1000})
        elif behaviour == "raise":
            raise RuntimeError("boom")

    async with serve(app) as served:
        reader, writer, status_line, _ = await do_handshake(served, "/x")
        assert status_line.split()[1] == status
        writer.close()


@pytest.mark.parametrize(("behaviour", "code"), [("return", 1000), ("raise", 1011)])
async def test_an_app_that_ends_after_the_accept_closes_the_socket(behaviour: str, code: int) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()  # the client's first message
        if behaviour == "raise":
            raise RuntimeError("boom")

    async with serve(app) as served:
        reader, writer, _, _ = await do_handshake(served, "/x")
        await send(writer, client_frame(BINARY, b"go"))
        assert (await read_close(reader, writer))[0] == code


async def test_app_close_then_the_peers_reply_ends_the_connection() -> None:
    told: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4000, "reason": "bye"})
        told.append(await receive())
        try:
            await send({"type": "websocket.send", "bytes": b"late"})
        except OSError as exc:  # past its own close, a send is refused
            told.append(exc)

    async with serve(app) as served:
        reader, writer, _, _ = await do_handshake(served, "/x")
        assert await read_close(reader, writer) == (4000, "bye")
        await expect_eof(reader)
    assert told[0]["type"] == "websocket.disconnect" and told[0]["code"] == 4000
    assert isinstance(told[1], OSError)


async def test_keepalive_pings_and_closes_a_silent_peer() -> None:
    async with serve(echo, ws_ping_interval=0.1, ws_ping_timeout=0.3) as served:
        answering, answering_writer, _, _ = await do_handshake(served, "/a")
        silent, silent_writer, _, _ = await do_handshake(served, "/b")
        for _ in range(3):  # pings keep coming while they are answered
            fin, opcode, payload = await read_frame(answering)
            assert opcode == PING and len(payload) == 4
            await send(answering_writer, client_frame(PONG, payload))
        fin, opcode, payload = await read_frame(silent)
        assert opcode == PING
        code, reason = await read_close(silent, silent_writer)
        assert code == 1011 and "keepalive" in reason
        await send(answering_writer, client_frame(PING, b"still"))
        while (frame := await read_frame(answering))[1] != PONG:
            await send(answering_writer, client_frame(PONG, frame[2]))
        assert frame[2] == b"still"
        answering_writer.close()


async def test_shutdown_closes_open_sockets_with_1012() -> None:
    told: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        told.append(await receive())

    async with serve(app) as served:
        reader, writer, _, _ = await do_handshake(served, "/x")
        await wait_until(lambda: bool(served.server.server_state.connections))
        served.server.should_exit = True
        assert (await read_close(reader, writer))[0] == 1012
    assert told[0]["code"] == 1012


async def test_a_client_cannot_queue_without_bound() -> None:
    protocols: list[WebSocketProtocol] = []
    release = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        protocols.append(receive.__self__)
        await release.wait()  # not reading: the client's messages pile up in the protocol
        count = 0
        while (await receive())["type"] == "websocket.receive":
            count += 1
        protocols.clear()
        counted.append(count)

    counted: list[int] = []
    payload = b"x" * 1000
    total = 20_000
    async with serve(app) as served:
        reader, writer, _, _ = await do_handshake(served, "/x")
        await wait_until(lambda: bool(protocols))
        flood = asyncio.ensure_future(send(writer, *(client_frame(BINARY, payload) for _ in range(total))))
        # The socket stops being read once INBOX_LIMIT messages wait (plus the rest of the read
        # that crossed it): the client's writes stall on a full TCP window, 20 MB unsent.
        await wait_until(lambda: protocols[0].read_paused)
        assert not flood.done()
        queued = sum(len(m["bytes"]) for m in protocols[0].inbox)
        assert len(protocols[0].inbox) >= INBOX_LIMIT and queued <= 512 * 1024
        release.set()
        await asyncio.wait_for(flood, TIMEOUT)
        await send(writer, client_frame(0x8, (1000).to_bytes(2, "big")))
        await wait_until(lambda: bool(counted))
    assert counted == [total]


async def test_send_waits_while_the_peer_reads_slowly() -> None:
    sent: list[int] = []
    big = b"y" * 256_000

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        for i in range(40):  # ~10 MB: far past the transport's high-water mark
            await send({"type": "websocket.send", "bytes": big})
            sent.append(i)
        await receive()

    async with serve(app) as served:
        reader, writer, _, _ = await do_handshake(served, "/x")
        await wait_until(lambda: bool(sent))
        paused_at = len(sent)
        assert paused_at < 40  # the app is held back while nobody reads
        received = 0
        while received < 40:
            fin, opcode, payload = await read_frame(reader)
            assert opcode == BINARY and payload == big
            received += 1
        assert len(sent) == 40
        writer.close()


def test_header_of_every_size_round_trips() -> None:
    for size in (0, 125, 126, 65535, 65536):
        header = frame_header(PING if size < 126 else BINARY, size)
        length = header[1] & 0x7F
        if length == 126:
            length = int.from_bytes(header[2:4], "big")
        elif length == 127:
            length = int.from_bytes(header[2:10], "big")
        assert length == size


async def test_send_now_writes_only_an_open_unpaused_binary_send() -> None:
    answers: list[bool] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        protocol: WebSocketProtocol = receive.__self__
        frame = {"type": "websocket.send", "bytes": b"now"}
        await receive()
        answers.append(protocol.send_now(frame))  # not accepted yet: use send
        await send({"type": "websocket.accept"})
        answers.append(protocol.send_now(frame))
        answers.append(protocol.send_now({"type": "websocket.send", "text": "t"}))  # text: use send
        await send({"type": "websocket.close", "code": 1000})
        answers.append(protocol.send_now(frame))  # closing: use send (which refuses)

    async with serve(app) as served:
        reader, writer, _, _ = await do_handshake(served, "/x")
        assert await read_frame(reader) == (True, BINARY, b"now")
        assert (await read_close(reader, writer))[0] == 1000
    assert answers == [False, True, False, False]
