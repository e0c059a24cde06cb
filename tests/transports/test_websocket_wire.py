"""RFC 6455 conformance of the hub's WebSocket server, checked on the wire.

The tests speak to a real hub over plain asyncio TCP streams with hand-built frames: the
opening handshake, masking, fragmentation, control frames, length encodings, size limits and
the closing handshake. No WebSocket library sits on the client side, so what is tested is the
bytes the server reads and writes, whichever WebSocket implementation serves them. Where
implementations may legitimately differ (reason texts, failing vs. closing cleanly after a
too-big frame), only what RFC 6455 requires is asserted.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import socket
import struct
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import pytest
from pycrdt import Doc, Text

from collab.auth.tokens import mint_token
from collab.errors import CloseCode
from collab.events.log import EventLog
from collab.protocol.sync import FRESH_STEP1, update_frame
from collab.records import RecordKey
from tests.hub.conftest import bare_hub, preseed
from tests.support.server import RunningHub

#: Generous: a read that takes this long means the server did not answer at all.
TIMEOUT = 10.0
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
KNOWN_OPCODES = {CONT, TEXT, BINARY, CLOSE, PING, PONG}
#: Close codes an endpoint may put on the wire (RFC 6455 7.4.1/7.4.2, IANA registry).
SENDABLE_CLOSE_CODES = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}
PROTOCOL_ERROR, INVALID_DATA, POLICY, TOO_BIG = 1002, 1007, 1008, 1009

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter
ServerFrame = tuple[bool, int, bytes]


# -- the client side, by hand -------------------------------------------------------------


class HasUrl(Protocol):
    @property
    def url(self) -> str: ...


async def do_handshake(
    hub: HasUrl, path: str, extra_headers: Mapping[str, str | None] | None = None
) -> tuple[Reader, Writer, str, dict[str, str]]:
    """Open a TCP connection and send an opening handshake for ``path``.

    ``extra_headers`` add headers or replace the standard ones; a value of None leaves a
    standard header out. Returns the stream, the status line and the response headers
    (names lower-cased, repeated headers joined with ", ").
    """
    url = urlsplit(hub.url)
    assert url.hostname is not None and url.port is not None
    headers: dict[str, str | None] = {
        "Host": f"{url.hostname}:{url.port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
    }
    headers.update(extra_headers or {})
    lines = [
        f"GET {path} HTTP/1.1",
        *(f"{name}: {value}" for name, value in headers.items() if value is not None),
    ]
    reader, writer = await asyncio.wait_for(asyncio.open_connection(url.hostname, url.port), TIMEOUT)
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    status, *fields = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    response: dict[str, str] = {}
    for field in fields:
        name, _, value = field.partition(":")
        name, value = name.strip().lower(), value.strip()
        response[name] = f"{response[name]}, {value}" if name in response else value
    return reader, writer, status, response


def client_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    mask: bool = True,
    rsv: int = 0,
    length: int | None = None,
) -> bytes:
    """One client frame: masked (unless ``mask`` is False), with the shortest length encoding.

    ``rsv`` is the three RSV bits as a number (4 = RSV1, 2 = RSV2, 1 = RSV3). ``length``
    declares a payload length other than ``len(payload)`` (to announce more than is sent).
    """
    size = len(payload) if length is None else length
    head = bytearray([(0x80 if fin else 0) | (rsv & 0x7) << 4 | opcode & 0xF])
    bit = 0x80 if mask else 0
    if size < 126:
        head.append(bit | size)
    elif size <= 0xFFFF:
        head.append(bit | 126)
        head += struct.pack("!H", size)
    else:
        head.append(bit | 127)
        head += struct.pack("!Q", size)
    if not mask:
        return bytes(head) + payload
    key = os.urandom(4)
    return bytes(head) + key + bytes(byte ^ key[i % 4] for i, byte in enumerate(payload))


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


async def _exactly(reader: Reader, size: int) -> bytes:
    return await asyncio.wait_for(reader.readexactly(size), TIMEOUT)


async def read_frame(reader: Reader) -> ServerFrame:
    """One server frame as (fin, opcode, payload), checked against RFC 6455 5.2 on the way."""
    first, second = await _exactly(reader, 2)
    assert not second & 0x80, "a server must not mask its frames (RFC 6455 5.1)"
    assert not first & 0x70, "RSV bits set although no extension was negotiated (RFC 6455 5.2)"
    fin, opcode, size = bool(first & 0x80), first & 0xF, second & 0x7F
    assert opcode in KNOWN_OPCODES, f"server sent reserved opcode {opcode:#x}"
    if size == 126:
        (size,) = struct.unpack("!H", await _exactly(reader, 2))
        assert size >= 126, "the minimal length encoding must be used (RFC 6455 5.2)"
    elif size == 127:
        (size,) = struct.unpack("!Q", await _exactly(reader, 8))
        assert 0xFFFF < size < 1 << 63, "the minimal length encoding must be used (RFC 6455 5.2)"
    if opcode >= CLOSE:
        assert fin and size <= 125, "control frames are unfragmented and at most 125 bytes (RFC 6455 5.5)"
    return fin, opcode, await _exactly(reader, size) if size else b""


def parse_close(payload: bytes) -> tuple[int | None, str]:
    """A close frame's (code, reason); code None for an empty body (RFC 6455 5.5.1)."""
    if not payload:
        return None, ""
    assert len(payload) >= 2, "a close body is empty or starts with a two-byte code"
    (code,) = struct.unpack("!H", payload[:2])
    assert code in SENDABLE_CLOSE_CODES or 3000 <= code <= 4999, f"server sent close code {code}"
    return code, payload[2:].decode("utf-8")  # a reason must be UTF-8 (RFC 6455 5.5.1)


async def expect_eof(reader: Reader) -> None:
    """The server closes the TCP connection and sends nothing more (a reset counts as closed)."""
    try:
        rest = await asyncio.wait_for(reader.read(), TIMEOUT)
    except (ConnectionResetError, BrokenPipeError):
        return
    assert rest == b"", f"{len(rest)} bytes after the close frame"


async def refused_body(reader: Reader, headers: Mapping[str, str]) -> bytes:
    """The body of a refused handshake, and then the end of the TCP connection."""
    body = await asyncio.wait_for(reader.read(), TIMEOUT)  # read() returns at EOF only
    if "content-length" in headers:
        assert len(body) == int(headers["content-length"])
    return body


async def read_close(reader: Reader, writer: Writer | None = None) -> tuple[int | None, str]:
    """Skip frames up to the server's close frame; return its (code, reason); then expect the
    TCP connection to end. With ``writer``, answer the close first, as RFC 6455 5.5.1 asks of
    an endpoint that receives a close it did not start."""
    for _ in range(10_000):
        _, opcode, payload = await read_frame(reader)
        if opcode == CLOSE:
            break
    else:
        raise AssertionError("no close frame")
    code, reason = parse_close(payload)
    if writer is not None:
        with contextlib.suppress(ConnectionError):
            writer.write(client_frame(CLOSE, close_payload(code or 1000)))
            await writer.drain()
    await expect_eof(reader)
    return code, reason


class Messages:
    """Whole server messages: data frames reassembled, control frames as they arrive.

    ``until`` keeps what it skips, so a later ``until`` still finds it: the order of a pong
    and an application message sent in one write is the server's business.
    """

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.skipped: list[tuple[int, bytes]] = []
        self._opcode: int | None = None
        self._parts: list[bytes] = []

    async def next(self) -> tuple[int, bytes]:
        while True:
            fin, opcode, payload = await read_frame(self.reader)
            if opcode >= CLOSE:
                return opcode, payload
            if opcode == CONT:
                assert self._opcode is not None, "server sent a continuation frame with nothing to continue"
            else:
                assert self._opcode is None, "server started a message inside a fragmented one"
                self._opcode = opcode
            self._parts.append(payload)
            if fin:
                whole, self._opcode = self._opcode, None
                data, self._parts = b"".join(self._parts), []
                return whole, data

    async def until(self, wanted: Callable[[int, bytes], bool], what: str) -> tuple[int, bytes]:
        """The first message (skipped earlier or new) with ``wanted(opcode, payload)``; a
        close on the way fails the test."""
        for i, (opcode, payload) in enumerate(self.skipped):
            if wanted(opcode, payload):
                del self.skipped[i]
                return opcode, payload
        for _ in range(10_000):
            opcode, payload = await self.next()
            if wanted(opcode, payload):
                return opcode, payload
            if opcode == CLOSE:
                raise AssertionError(f"server closed {parse_close(payload)} while the test waited for {what}")
            self.skipped.append((opcode, payload))
        raise AssertionError(f"no {what}")

    async def step2(self) -> bytes:
        """The next sync step 2 (binary, starting 0, 1)."""
        _, message = await self.until(
            lambda op, data: op == BINARY and data[:2] == b"\x00\x01", "a sync step 2"
        )
        return message

    async def pong(self, payload: bytes) -> None:
        await self.until(lambda op, data: op == PONG and data == payload, f"a pong {payload!r}")


async def send(writer: Writer, *frames: bytes) -> None:
    writer.write(b"".join(frames))
    await writer.drain()


@asynccontextmanager
async def opened(hub: RunningHub, path: str) -> AsyncIterator[tuple[Reader, Writer]]:
    """A WebSocket past its handshake (101), closed at the end of the block."""
    reader, writer, status, _ = await do_handshake(hub, path)
    try:
        assert status.startswith("HTTP/1.1 101"), status
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


# -- y-websocket bits -----------------------------------------------------------------------


def sync_path(record: RecordKey) -> str:
    return f"/sync/{record.room}"


def step2_update(message: bytes) -> bytes:
    """The update inside a sync step 2 message (``0, 1, varUint length, update``)."""
    assert message[:2] == b"\x00\x01"
    size, shift, pos = 0, 0, 2
    while True:
        byte = message[pos]
        pos += 1
        size |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    assert len(message) - pos == size, "sync step 2 length does not match the message"
    return message[pos:]


def notes_of(*updates: bytes) -> str:
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return str(doc.get("Notes", type=Text))


def notes_insert(text: str) -> bytes:
    """A sync update message from a fresh client inserting ``text`` into the Notes text field."""
    doc: Doc[Any] = Doc(client_id=424242)
    doc.get("Notes", type=Text).insert(0, text)
    return update_frame(doc.get_update())


def update_of_size(total: int) -> bytes:
    """A valid Notes update message of exactly ``total`` bytes."""
    for size in range(max(0, total - 64), total):
        message = notes_insert("u" * size)
        if len(message) == total:
            return message
    raise AssertionError(f"cannot build an update message of {total} bytes")


async def synced(reader: Reader, writer: Writer) -> Messages:
    """Send sync step 1 and wait for the hub's step 2."""
    messages = Messages(reader)
    await send(writer, client_frame(BINARY, FRESH_STEP1))
    await messages.step2()
    return messages


async def notes_after(writer: Writer, messages: Messages, message: bytes) -> str:
    """Send ``message`` (an update), then a fresh step 1 and a ping: the Notes text of the
    hub's step 2, read once the pong shows nothing else was left unanswered."""
    await send(writer, client_frame(BINARY, message), client_frame(BINARY, FRESH_STEP1), client_frame(PING, b"ok"))
    notes = notes_of(step2_update(await messages.step2()))
    await messages.pong(b"ok")
    return notes


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with bare_hub(tmp_path) as running:
        yield running


@pytest.fixture
async def path(hub: RunningHub) -> str:
    return sync_path(await preseed(hub))


# -- opening handshake ----------------------------------------------------------------------


async def test_handshake_accepts_with_the_rfc_accept_key(hub: RunningHub, path: str) -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    reader, writer, status, headers = await do_handshake(hub, path, {"Sec-WebSocket-Key": key})
    try:
        assert status.split(" ", 2)[:2] == ["HTTP/1.1", "101"], status
        expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        assert headers.get("sec-websocket-accept") == expected
        assert headers.get("upgrade", "").lower() == "websocket"
        assert "upgrade" in [token.strip().lower() for token in headers.get("connection", "").split(",")]
        # No extension was offered, so none may be accepted (RFC 6455 9.1).
        assert "sec-websocket-extensions" not in headers
    finally:
        writer.close()
    await writer.wait_closed()


@pytest.mark.parametrize("version", ["8", "14", "abc"])
async def test_unsupported_version_is_refused(hub: RunningHub, path: str, version: str) -> None:
    reader, writer, status, headers = await do_handshake(hub, path, {"Sec-WebSocket-Version": version})
    try:
        code = int(status.split(" ", 2)[1])
        assert code in (400, 426), status
        if code == 426:
            assert "13" in [v.strip() for v in headers.get("sec-websocket-version", "").split(",")]
        await refused_body(reader, headers)
    finally:
        writer.close()


@pytest.mark.parametrize(
    "change",
    [{"Sec-WebSocket-Key": None}, {"Sec-WebSocket-Key": "too-short"}, {"Sec-WebSocket-Version": None}],
    ids=["no-key", "bad-key", "no-version"],
)
async def test_malformed_handshake_is_refused(
    hub: RunningHub, path: str, change: dict[str, str | None]
) -> None:
    reader, writer, status, headers = await do_handshake(hub, path, change)
    try:
        assert 400 <= int(status.split(" ", 2)[1]) < 500, status
        await refused_body(reader, headers)
    finally:
        writer.close()


# -- data transfer --------------------------------------------------------------------------


async def test_sync_step1_is_answered_with_step2(hub: RunningHub, path: str) -> None:
    async with opened(hub, path) as (reader, writer):
        await send(writer, client_frame(BINARY, FRESH_STEP1))
        step2 = await Messages(reader).step2()
        assert notes_of(step2_update(step2)) == "hello"


@pytest.mark.parametrize(
    "payload", [b"", b"are you there?", bytes(range(125))], ids=["empty", "short", "125"]
)
async def test_ping_is_answered_with_identical_pong(hub: RunningHub, path: str, payload: bytes) -> None:
    async with opened(hub, path) as (reader, writer):
        await send(writer, client_frame(PING, payload))
        await Messages(reader).pong(payload)


async def test_fragmented_message_with_interleaved_ping(hub: RunningHub, path: str) -> None:
    async with opened(hub, path) as (reader, writer):
        await send(
            writer,
            client_frame(BINARY, FRESH_STEP1[:1], fin=False),
            client_frame(PING, b"between fragments"),
            client_frame(CONT, FRESH_STEP1[1:3], fin=False),
            client_frame(CONT, FRESH_STEP1[3:]),
        )
        messages = Messages(reader)
        await messages.pong(b"between fragments")
        assert step2_update(await messages.step2())  # the three fragments made one step 1


async def test_many_frames_in_one_write(hub: RunningHub, path: str) -> None:
    pings = [f"ping {i:02d}".encode() for i in range(20)]
    async with opened(hub, path) as (reader, writer):
        await send(writer, client_frame(BINARY, FRESH_STEP1), *(client_frame(PING, p) for p in pings))
        messages = Messages(reader)
        await messages.step2()
        pongs = [(await messages.until(lambda op, _: op == PONG, "a pong"))[1] for _ in pings]
        assert pongs == pings


async def test_frames_split_byte_by_byte(hub: RunningHub, path: str) -> None:
    async with opened(hub, path) as (reader, writer):
        for byte in client_frame(BINARY, FRESH_STEP1) + client_frame(PING, b"slowly"):
            writer.write(bytes([byte]))
            await writer.drain()
            # Pacing, not synchronisation: lets the server read each byte on its own.
            await asyncio.sleep(0.002)
        messages = Messages(reader)
        await messages.step2()
        await messages.pong(b"slowly")


@pytest.mark.parametrize("size", [200, 70_000], ids=["16-bit-length", "64-bit-length"])
async def test_client_frame_length_encodings(hub: RunningHub, path: str, size: int) -> None:
    text = "w" * size
    message = notes_insert(text)
    assert (126 <= len(message) <= 0xFFFF) if size < 1000 else len(message) > 0xFFFF
    async with opened(hub, path) as (reader, writer):
        messages = await synced(reader, writer)
        # A second step 1 is answered with the document as it is after the update.
        assert text in await notes_after(writer, messages, message)


@pytest.mark.parametrize("size", [1_000, 70_000], ids=["16-bit-length", "64-bit-length"])
async def test_server_frame_length_encodings(hub: RunningHub, size: int) -> None:
    record = await preseed(hub, {"Notes": "x" * size})
    async with opened(hub, sync_path(record)) as (reader, writer):
        await send(writer, client_frame(BINARY, FRESH_STEP1))
        step2 = await Messages(reader).step2()
        assert len(step2) > (0xFFFF if size > 0xFFFF else 125)
        assert notes_of(step2_update(step2)) == "x" * size


# -- framing errors: the server fails the connection with 1002 --------------------------------


async def expect_failure(hub: RunningHub, path: str, *frames: bytes, code: int = PROTOCOL_ERROR) -> None:
    async with opened(hub, path) as (reader, writer):
        await send(writer, *frames)
        assert (await read_close(reader))[0] == code


async def test_unmasked_client_frame(hub: RunningHub, path: str) -> None:
    await expect_failure(hub, path, client_frame(BINARY, FRESH_STEP1, mask=False))


@pytest.mark.parametrize("rsv", [4, 2, 1], ids=["rsv1", "rsv2", "rsv3"])
async def test_reserved_bits_without_extension(hub: RunningHub, path: str, rsv: int) -> None:
    await expect_failure(hub, path, client_frame(BINARY, FRESH_STEP1, rsv=rsv))


@pytest.mark.parametrize("opcode", [0x3, 0x7, 0xB, 0xF])
async def test_reserved_opcode(hub: RunningHub, path: str, opcode: int) -> None:
    await expect_failure(hub, path, client_frame(opcode, b"?"))


async def test_control_frame_over_125_bytes(hub: RunningHub, path: str) -> None:
    await expect_failure(hub, path, client_frame(PING, b"p" * 126))


async def test_fragmented_control_frame(hub: RunningHub, path: str) -> None:
    await expect_failure(hub, path, client_frame(PING, b"half", fin=False), client_frame(CONT, b" ping"))


async def test_continuation_with_nothing_to_continue(hub: RunningHub, path: str) -> None:
    await expect_failure(hub, path, client_frame(CONT, FRESH_STEP1))


async def test_new_message_inside_a_fragmented_one(hub: RunningHub, path: str) -> None:
    await expect_failure(
        hub, path, client_frame(BINARY, FRESH_STEP1[:2], fin=False), client_frame(BINARY, FRESH_STEP1)
    )


# -- text frames ----------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [b"\xff\xfe", b"caf\xc3", b"\xed\xa0\x80", b"ok \xe2\x82"])
async def test_invalid_utf8_text_is_1007(hub: RunningHub, path: str, payload: bytes) -> None:
    await expect_failure(hub, path, client_frame(TEXT, payload), code=INVALID_DATA)


async def test_valid_text_is_refused_by_policy(hub: RunningHub, path: str) -> None:
    async with opened(hub, path) as (reader, writer):
        await send(writer, client_frame(TEXT, "y-websocket is binary ✓".encode()))
        code, _ = await read_close(reader, writer)
        assert code == POLICY  # CloseCode.POLICY: y-websocket is a binary protocol


# -- message size ---------------------------------------------------------------------------

LIMIT = 4096


@pytest.fixture
async def small_hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with bare_hub(tmp_path, limits={"max_message_bytes": LIMIT}) as running:
        assert running.settings.limits.max_message_bytes == LIMIT
        yield running


async def test_oversized_frame_is_refused_from_its_header(small_hub: RunningHub) -> None:
    """Only the header of a 50 MB frame is sent: the close must come without the payload."""
    async with opened(small_hub, sync_path(await preseed(small_hub))) as (reader, writer):
        await send(writer, client_frame(BINARY, length=50 * 1024 * 1024))
        assert (await read_close(reader, writer))[0] == TOO_BIG


@pytest.mark.parametrize("over", [1, 64, 65, 1000])
async def test_message_over_the_limit_is_1009(small_hub: RunningHub, over: int) -> None:
    async with opened(small_hub, sync_path(await preseed(small_hub))) as (reader, writer):
        await synced(reader, writer)
        await send(writer, client_frame(BINARY, update_of_size(LIMIT + over)))
        assert (await read_close(reader, writer))[0] == TOO_BIG


async def test_fragmented_message_over_the_limit_is_1009(small_hub: RunningHub) -> None:
    async with opened(small_hub, sync_path(await preseed(small_hub))) as (reader, writer):
        await synced(reader, writer)
        await send(
            writer,
            client_frame(BINARY, b"\x00" * 2000, fin=False),
            client_frame(CONT, b"\x00" * 2000, fin=False),
            client_frame(CONT, b"\x00" * 2000, fin=False),
        )
        assert (await read_close(reader, writer))[0] == TOO_BIG


async def test_message_at_the_limit_is_accepted(small_hub: RunningHub) -> None:
    message = update_of_size(LIMIT)
    async with opened(small_hub, sync_path(await preseed(small_hub))) as (reader, writer):
        messages = await synced(reader, writer)
        assert "u" * 4000 in await notes_after(writer, messages, message)


# -- closing handshake ----------------------------------------------------------------------


@pytest.mark.parametrize("code", [1000, 1001, 3000, 4999])
async def test_client_close_is_echoed(hub: RunningHub, path: str, code: int) -> None:
    async with opened(hub, path) as (reader, writer):
        await synced(reader, writer)
        await send(writer, client_frame(CLOSE, close_payload(code, b"bye")))
        echoed, _ = await read_close(reader)
        assert echoed == code


async def test_empty_client_close_is_answered(hub: RunningHub, path: str) -> None:
    async with opened(hub, path) as (reader, writer):
        await send(writer, client_frame(CLOSE))
        echoed, _ = await read_close(reader)
        assert echoed in (None, 1000)


async def test_one_byte_close_body(hub: RunningHub, path: str) -> None:
    await expect_failure(hub, path, client_frame(CLOSE, b"\x03"))


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 5000, 65535])
async def test_invalid_close_code(hub: RunningHub, path: str, code: int) -> None:
    await expect_failure(hub, path, client_frame(CLOSE, close_payload(code)))


async def test_close_reason_not_utf8(hub: RunningHub, path: str) -> None:
    await expect_failure(hub, path, client_frame(CLOSE, close_payload(1000, b"bye \xff")), code=INVALID_DATA)


async def test_refusal_after_handshake_is_a_clean_close(hub: RunningHub) -> None:
    async with opened(hub, "/sync/Sales/NoSuchLayout/abc") as (reader, writer):
        code, reason = await read_close(reader, writer)
        assert code == CloseCode.NOT_FOUND
        assert reason


@pytest.mark.parametrize("how", ["fin", "reset", "mid-message"])
async def test_abrupt_disconnect_leaves_the_room_working(hub: RunningHub, path: str, how: str) -> None:
    async with opened(hub, path) as (reader, writer), opened(hub, path) as (gone_reader, gone_writer):
        messages = await synced(reader, writer)
        await synced(gone_reader, gone_writer)
        # Gone without a close frame: a plain FIN, a TCP reset, or half-way through a message.
        if how == "reset":
            gone_writer.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        elif how == "mid-message":
            await send(gone_writer, client_frame(BINARY, notes_insert("never finished"))[:-3])
        gone_writer.close()
        with contextlib.suppress(ConnectionError):
            await gone_writer.wait_closed()
        await send(writer, client_frame(PING, b"still here"))
        await messages.pong(b"still here")
        await send(writer, client_frame(BINARY, notes_insert("after")), client_frame(BINARY, FRESH_STEP1))
        notes = notes_of(step2_update(await messages.step2()))
        assert "after" in notes and "never finished" not in notes
    async with opened(hub, path) as (reader, writer):
        await send(writer, client_frame(BINARY, FRESH_STEP1))
        assert "after" in notes_of(step2_update(await Messages(reader).step2()))


# -- the Litestar-served /events socket -----------------------------------------------------


async def test_events_socket_handshake_and_close(hub: RunningHub) -> None:
    if not isinstance(hub.ctx.events, EventLog):
        pytest.skip("the events component is not installed (COLLAB_TEST_CORE_APP=1)")
    token = mint_token(hub.settings.server.secret, sub="wire", roles=["editor"], records=["*"])
    async with opened(hub, f"/events?token={token}") as (reader, writer):
        await send(writer, client_frame(TEXT, json.dumps({"type": "ping"}).encode()))
        _, text = await Messages(reader).until(lambda op, _: op == TEXT, "the events pong")
        assert json.loads(text)["type"] == "pong"
        await send(writer, client_frame(CLOSE, close_payload(1000, b"done")))
        assert (await read_close(reader))[0] == 1000
