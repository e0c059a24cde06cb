"""pycrdt-websocket's ASGIServer under uvicorn, no deflate.

The WebsocketServer keeps its defaults except an ``exception_handler`` that swallows errors:
without it, one send to a client that is already closing (uvicorn raises ClientDisconnected)
propagates through the room's task group into the server's and stops the whole
WebsocketServer ("The WebsocketServer is not running" for every later connection).
"""

from __future__ import annotations

from logging import Logger
from typing import Any

from pycrdt.websocket import ASGIServer, WebsocketServer

from bench.peers._run import run


def _swallow(exc: Exception, log: Logger) -> bool:
    return True


class App:
    def __init__(self) -> None:
        self.server = WebsocketServer(exception_handler=_swallow)
        self.asgi = ASGIServer(self.server)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()  # lifespan.startup
            async with self.server:
                await send({"type": "lifespan.startup.complete"})
                await receive()  # lifespan.shutdown
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"okay"})
            return
        await self.asgi(scope, receive, send)


if __name__ == "__main__":
    run(App())
