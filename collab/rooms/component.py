"""Hub component: the document store, the room registry (``ctx.rooms``) and ``/sync``."""

from __future__ import annotations

from typing import Any

from litestar.handlers import asgi

from collab.context import Component, HubContext
from collab.rooms.endpoint import PREFIX, SyncEndpoint
from collab.rooms.registry import RoomRegistry
from collab.rooms.sqlite_store import SqliteDocStore
from collab.rooms.store import DocStore, MemoryDocStore

__all__ = ["install"]


def install(ctx: HubContext) -> Component:
    store: DocStore
    if ctx.db is not None:
        SqliteDocStore.register(ctx.db)
        store = SqliteDocStore(ctx.db)
    else:
        store = MemoryDocStore()
    registry = RoomRegistry(ctx, store)
    ctx.rooms = registry
    endpoint = SyncEndpoint(ctx, registry)

    # WebSocket connections reach the endpoint directly (Component.sockets, before Litestar);
    # the Litestar mount only answers plain HTTP requests to /sync/... (426 Upgrade Required).
    async def sync_socket(scope: Any, receive: Any, send: Any) -> None:
        await endpoint(scope, receive, send)

    handler = asgi("/sync", is_mount=True, copy_scope=False, include_in_schema=False)(sync_socket)
    ctx.extras.setdefault("banner", []).append(
        ("Yjs sync", ctx.settings.base_url.replace("http", "ws", 1) + "/sync/{database}/{layout}/{key}")
    )
    ctx.extras["sync_endpoint"] = endpoint
    # First thing on shutdown: 1012 with a reason to every client, and wait for the commits.
    ctx.on_drain.append(registry.close)
    return Component(
        route_handlers=[handler],
        sockets=[(PREFIX, endpoint)],
        on_startup=[endpoint.start],
        on_shutdown=[endpoint.stop],
    )
