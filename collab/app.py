"""The composition root: ``create_app(settings)`` builds the whole hub. Nothing else wires parts."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

from litestar import Litestar
from litestar.openapi.config import OpenAPIConfig
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from collab import __version__
from collab.context import Component, HubContext
from collab.logs import install_redaction
from collab.metrics import Metrics
from collab.settings import Settings
from collab.transports.problems import exception_handlers

__all__ = ["HubApp", "create_app", "install_order"]

log = logging.getLogger("collab")


def install_order() -> list[ModuleType]:
    """Components in the order they are installed (each may use what earlier ones set)."""
    from collab.auth import component as auth
    from collab.events import component as events
    from collab.filemaker import component as filemaker
    from collab.locks import component as locks
    from collab.persist import component as persist
    from collab.rooms import component as rooms
    from collab.store import component as store
    from collab.transports import ops
    from collab.webviewer import component as webviewer

    return [store, filemaker, auth, events, rooms, locks, persist, webviewer, ops]


ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class HubApp:
    """The hub's ASGI app: WebSocket connections to a raw socket endpoint (``/sync/``) go
    straight to it; everything else (HTTP, lifespan, ``/events``) is the Litestar app.

    uvicorn's proxy-headers middleware (``X-Forwarded-For`` / ``-Proto`` from the addresses in
    ``FORWARDED_ALLOW_IPS``, default the loopback ones) wraps only the Litestar side: the sync
    endpoint reads neither the client address nor the scheme, and without the wrapper an open
    sync socket holds one coroutine frame and its scope less.
    """

    def __init__(self, litestar: Litestar, sockets: Sequence[tuple[str, ASGIApp]]) -> None:
        self.litestar = litestar
        trusted = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
        self.http = ProxyHeadersMiddleware(litestar, trusted_hosts=trusted)  # type: ignore[arg-type]
        self.sockets = tuple(sockets)

    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[None]:
        # Not a coroutine itself: it hands over the endpoint's, so an open socket's task holds
        # one frame less (uvicorn is told the interface is ASGI 3, see collab.server).
        if scope["type"] == "websocket":
            path = scope["path"]
            for prefix, endpoint in self.sockets:
                if path.startswith(prefix):
                    return endpoint(scope, receive, send)
        return self.http(scope, receive, send)  # type: ignore[arg-type]


def create_app(settings: Settings, *, ctx: HubContext | None = None) -> HubApp:
    ctx = ctx or HubContext(settings=settings, metrics=Metrics())
    install_redaction()
    components: list[Component] = [module.install(ctx) for module in install_order()]

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        started: list[Component] = []
        try:
            for component in components:
                started.append(component)
                for hook in component.on_startup:
                    await hook()
            yield
        finally:
            for component in reversed(started):
                for hook in component.on_shutdown:
                    try:
                        await hook()
                    except Exception:
                        log.exception("shutdown step failed")

    handlers = [handler for component in components for handler in component.route_handlers]
    app = Litestar(
        route_handlers=handlers,
        lifespan=[lifespan],
        exception_handlers=exception_handlers(),
        openapi_config=OpenAPIConfig(title="collab", version=__version__, path="/schema"),
        request_max_body_size=settings.limits.max_http_body_bytes,
        # Logging is ours (collab.logs): Litestar's default adds a queue thread and handlers
        # bound to whatever stderr was when the app was built.
        logging_config=None,
        debug=False,
    )
    app.state.ctx = ctx
    return HubApp(app, [socket for component in components for socket in component.sockets])
