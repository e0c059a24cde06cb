"""The FileMaker component: ``ctx.filemaker`` (a FileMakerPool) and, in demo mode, the emulator.

With ``server.demo`` the bundled Data API emulator is served by the hub itself under
``/fmi`` (the demo settings point ``filemaker.url`` at the hub), backed by
``<data_dir>/emulator.db``, and exposed as ``ctx.extras["emulator"]`` for demos and tests.
On shutdown every Data API session is logged out.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote

import httpx
from litestar import asgi
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send

from collab.context import Component, HubContext
from collab.filemaker.pool import FileMakerPool

__all__ = ["MOUNT_PATH", "install", "mount_emulator"]

MOUNT_PATH = "/fmi"


def mount_emulator(app: Any) -> ASGIRouteHandler:
    """A Litestar mount of the emulator's ASGI ``app`` at ``/fmi``.

    Litestar hands a mounted app the path *after* the mount point, with a trailing slash
    added; the emulator routes on the full ``/fmi/...`` path, so it is restored from
    ``raw_path`` (still percent-encoded, so a ``%2F`` in a layout name survives).
    """

    @asgi(MOUNT_PATH, is_mount=True, copy_scope=True)
    async def emulator_mount(scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") or b""
        raw_path = raw.split(b"?", 1)[0] if raw else b""
        if raw_path:
            scope["path"] = unquote(raw_path.decode("latin-1"))
            scope["raw_path"] = raw_path
        else:  # no raw_path from the server: rebuild from what Litestar left us
            rest = scope["path"]
            scope["path"] = MOUNT_PATH + (rest if rest != "/" else "")
        scope["root_path"] = ""
        await app(scope, receive, send)

    return emulator_mount


class InProcessTransport(httpx.ASGITransport):
    """The emulator called in process, but like a server: a client that gives up (timeout)
    does not cancel the request being handled, which finishes and is logged as over HTTP."""

    def __init__(self, app: Any) -> None:
        super().__init__(app=app, raise_app_exceptions=False)
        self._running: set[asyncio.Task[httpx.Response]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        task = asyncio.create_task(super().handle_async_request(request))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)


def install(ctx: HubContext) -> Component:
    settings = ctx.settings
    handlers: list[Any] = []
    transport: httpx.AsyncBaseTransport | None = None
    if settings.server.demo:
        from collab.filemaker.emulator import Emulator

        settings.data_path.mkdir(parents=True, exist_ok=True)
        emulator = Emulator(db=settings.data_path / "emulator.db")
        ctx.extras["emulator"] = emulator
        handlers.append(mount_emulator(emulator.app))
        # The hub's own Data API calls reach the emulator in process: over the loopback
        # they would be refused during start-up and shutdown, while uvicorn is not listening
        # (the logout on shutdown, for one). Browsers and curl still use /fmi over HTTP.
        transport = InProcessTransport(emulator.app)
    pool = FileMakerPool(settings.filemaker, transport=transport, metrics=ctx.metrics)
    ctx.filemaker = pool
    return Component(route_handlers=handlers, on_shutdown=[pool.aclose])
