"""Floor: the same relay as a plain Litestar ``@websocket`` handler; ``--apply`` also applies
every update to one pycrdt Doc per record (and answers sync step 1 from it)."""

from __future__ import annotations

import sys

from litestar import Litestar, WebSocket, get, websocket
from pycrdt import Doc

from bench.peers._run import run

APPLY = "--apply" in sys.argv
EMPTY_STEP2 = bytes([0, 1, 2, 0, 0])

rooms: dict[str, set[WebSocket]] = {}
docs: dict[str, Doc] = {}


def _read_var_uint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _var_uint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


@get("/")
async def index() -> str:
    return "okay"


@websocket("/{name:path}")
async def relay(socket: WebSocket, name: str) -> None:
    await socket.accept()
    room = rooms.setdefault(name, set())
    doc = docs.setdefault(name, Doc()) if APPLY else None
    room.add(socket)
    try:
        while True:
            data = await socket.receive_bytes()
            if not data:
                continue
            if data[0] == 0 and len(data) > 1:
                if data[1] == 0:
                    if doc is None:
                        await socket.send_bytes(EMPTY_STEP2)
                    else:
                        size, pos = _read_var_uint(data, 2)
                        update = doc.get_update(data[pos : pos + size])
                        await socket.send_bytes(bytes([0, 1]) + _var_uint(len(update)) + update)
                    continue
                if doc is not None:
                    size, pos = _read_var_uint(data, 2)
                    doc.apply_update(data[pos : pos + size])
            for other in list(room):
                if other is not socket:
                    try:
                        await other.send_bytes(data)
                    except Exception:
                        pass
    except Exception:
        pass
    finally:
        room.discard(socket)
        if not room:
            rooms.pop(name, None)


app = Litestar([index, relay], debug=False)

if __name__ == "__main__":
    run(app)
