"""y-websocket framing with a bounded reader: nothing is allocated from a length we did not check.

A frame is ``varUint(type)`` then a type-specific body:

- 0 sync: ``varUint(step)`` then ``varUint8Array(payload)``; step 0 = step 1 (state vector),
  1 = step 2 (update), 2 = update;
- 1 awareness: ``varUint8Array(awareness update)``;
- 3 query awareness: nothing;
- 100 collab control (``collab.protocol.control``): ``varUint8Array(JSON)``.

Every length is checked against the bytes that remain and every frame must be consumed
exactly, so length bombs (``[255, 255, 255, 122]``) and trailing garbage are refused with a
:class:`ProtocolError` before anything touches a document. Updates additionally pass
``pycrdt.get_state`` (a full decode in yrs) before they are applied (see ``check_update``).
"""

from __future__ import annotations

from typing import Final

import msgspec
from pycrdt import get_state

from collab.errors import ProtocolError
from collab.protocol.control import MESSAGE_CONTROL, Control, encode_control

__all__ = [
    "AWARENESS",
    "EMPTY_UPDATE",
    "FRESH_STEP1",
    "QUERY_AWARENESS",
    "STEP1",
    "STEP2",
    "SYNC",
    "UPDATE",
    "AwarenessEntry",
    "Frame",
    "awareness_frame",
    "check_update",
    "control_frame",
    "encode_awareness",
    "parse_awareness",
    "parse_frame",
    "parse_state_vector",
    "step1_frame",
    "step2_frame",
    "update_frame",
    "var_uint",
]

SYNC: Final = 0
AWARENESS: Final = 1
AUTH: Final = 2
QUERY_AWARENESS: Final = 3
STEP1: Final = 0
STEP2: Final = 1
UPDATE: Final = 2
#: An update with no structs and no deletes (what Yjs sends when there is nothing to send).
EMPTY_UPDATE: Final = b"\x00\x00"
#: Sync step 1 with an empty state vector: a client that holds nothing of the document yet.
FRESH_STEP1: Final = b"\x00\x00\x01\x00"
_MAX_VARUINT_BYTES: Final = 10  # 64 bits; yrs reads client ids as u64


class Frame(msgspec.Struct, frozen=True):
    """One decoded message: ``kind`` is the message type, ``step`` the sync step (or -1)."""

    kind: int
    step: int
    payload: bytes


class AwarenessEntry(msgspec.Struct, frozen=True):
    client: int
    clock: int
    #: The JSON state as sent (``"null"`` when the client went away).
    state: bytes


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def var_uint(self) -> int:
        data, pos, value, shift = self.data, self.pos, 0, 0
        for _ in range(_MAX_VARUINT_BYTES):
            if pos >= len(data):
                raise ProtocolError("truncated number in frame")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                self.pos = pos
                return value
            shift += 7
        raise ProtocolError("number in frame is longer than 64 bits")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        if length > self.remaining():
            raise ProtocolError(f"length {length} exceeds the {self.remaining()} bytes left in the frame")
        start = self.pos
        self.pos = start + length
        return self.data[start : self.pos]

    def end(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError(f"{self.remaining()} unexpected bytes after the message")


def var_uint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def parse_frame(data: bytes) -> Frame:
    """Decode one WebSocket message. Raises ProtocolError on anything malformed or unknown."""
    if not data:
        raise ProtocolError("empty message")
    # Fast path for the overwhelmingly common frames: a sync message whose length takes one
    # or two bytes (payloads under 16 KiB). Anything else takes the general reader below.
    size = len(data)
    if size >= 3 and data[0] == SYNC and data[1] <= UPDATE:
        first = data[2]
        if first < 0x80:
            if size - 3 == first:
                return Frame(SYNC, data[1], data[3:])
        elif size >= 4 and data[3] < 0x80 and data[3] != 0:
            if size - 4 == (first & 0x7F) | (data[3] << 7):
                return Frame(SYNC, data[1], data[4:])
    reader = _Reader(data)
    kind = reader.var_uint()
    if kind == SYNC:
        step = reader.var_uint()
        if step not in (STEP1, STEP2, UPDATE):
            raise ProtocolError(f"unknown sync step {step}")
        payload = reader.var_bytes()
        reader.end()
        return Frame(SYNC, step, payload)
    if kind == AWARENESS:
        payload = reader.var_bytes()
        reader.end()
        return Frame(AWARENESS, -1, payload)
    if kind == QUERY_AWARENESS:
        reader.end()
        return Frame(QUERY_AWARENESS, -1, b"")
    if kind == MESSAGE_CONTROL:
        raise ProtocolError("control messages only go from the hub to clients")
    raise ProtocolError(f"unknown message type {kind}")


def parse_state_vector(payload: bytes) -> dict[int, int]:
    """Decode a state vector (``varUint n`` then n x ``(client, clock)``), bounded by its bytes."""
    reader = _Reader(payload)
    count = reader.var_uint()
    # Each entry needs at least two bytes: refuse counts the frame cannot possibly hold.
    if count * 2 > reader.remaining():
        raise ProtocolError(f"state vector claims {count} entries in {reader.remaining()} bytes")
    vector: dict[int, int] = {}
    for _ in range(count):
        client = reader.var_uint()
        vector[client] = reader.var_uint()
    reader.end()
    return vector


def check_update(update: bytes) -> bytes:
    """Decode the update fully in yrs (without a document); return its state vector bytes.

    Raises ProtocolError when yrs refuses it. Panics are the caller's business (they are
    BaseExceptions and mean the room must be reloaded).
    """
    try:
        return get_state(update)
    except (ValueError, RuntimeError, TypeError) as exc:
        raise ProtocolError(f"update does not decode: {exc}") from None


def parse_awareness(payload: bytes, max_state_bytes: int) -> list[AwarenessEntry]:
    """Decode an awareness update: ``varUint n`` then n x ``(client, clock, varString json)``."""
    reader = _Reader(payload)
    count = reader.var_uint()
    if count * 3 > reader.remaining():
        raise ProtocolError(f"awareness update claims {count} entries in {reader.remaining()} bytes")
    entries: list[AwarenessEntry] = []
    for _ in range(count):
        client = reader.var_uint()
        clock = reader.var_uint()
        state = reader.var_bytes()
        if len(state) > max_state_bytes:
            raise ProtocolError(f"awareness state of {len(state)} bytes exceeds {max_state_bytes}")
        entries.append(AwarenessEntry(client, clock, state))
    reader.end()
    return entries


def encode_awareness(entries: list[AwarenessEntry]) -> bytes:
    parts = [var_uint(len(entries))]
    for entry in entries:
        parts += (var_uint(entry.client), var_uint(entry.clock), var_uint(len(entry.state)), entry.state)
    return b"".join(parts)


def _sync(step: int, payload: bytes) -> bytes:
    return b"".join((bytes((SYNC, step)), var_uint(len(payload)), payload))


def step1_frame(state_vector: bytes) -> bytes:
    return _sync(STEP1, state_vector)


def step2_frame(update: bytes) -> bytes:
    return _sync(STEP2, update)


def update_frame(update: bytes) -> bytes:
    return _sync(UPDATE, update)


def awareness_frame(update: bytes) -> bytes:
    return b"".join((bytes((AWARENESS,)), var_uint(len(update)), update))


def control_frame(message: Control) -> bytes:
    payload = encode_control(message)
    return b"".join((var_uint(MESSAGE_CONTROL), var_uint(len(payload)), payload))
