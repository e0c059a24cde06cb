"""Floor: a bare ASGI WebSocket relay under uvicorn, no CRDT, no framework.

Answers sync step 1 with an empty step 2 (so y-websocket clients become synced) and forwards
every other binary frame to the other sockets of the same room (the URL path).
"""

from __future__ import annotations

from typing import Any

from bench.peers._run import run

EMPTY_STEP2 = bytes([0, 1, 2, 0, 0])


class Relay:
    def __init__(self) -> None:
        self.rooms: dict[str, dict[int, Any]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"okay"})
            return
        if scope["type"] != "websocket":
            return
        msg = await receive()
        if msg["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        name = scope["path"]
        room = self.rooms.setdefault(name, {})
        me = id(send)
        room[me] = send
        try:
            while True:
                msg = await receive()
                if msg["type"] == "websocket.disconnect":
                    break
                data = msg.get("bytes")
                if not data:
                    continue
                if data[0] == 0 and len(data) > 1 and data[1] == 0:
                    await send({"type": "websocket.send", "bytes": EMPTY_STEP2})
                    continue
                out = {"type": "websocket.send", "bytes": data}
                for key, other in list(room.items()):
                    if key != me:
                        try:
                            await other(out)
                        except Exception:
                            pass
        finally:
            room.pop(me, None)
            if not room:
                self.rooms.pop(name, None)


if __name__ == "__main__":
    run(Relay())
