"""Locks component: the lock store, ``LockService`` as ``ctx.locks`` and ``ctx.gate``, the routes."""

from __future__ import annotations

from collab.context import Component, HubContext
from collab.locks.routes import ROUTES
from collab.locks.service import LockService
from collab.locks.sqlite_store import MIGRATIONS, SqliteLockStore
from collab.locks.store import LockStore, MemoryLockStore

__all__ = ["install"]


def install(ctx: HubContext) -> Component:
    store: LockStore
    if ctx.db is not None:
        ctx.db.register("locks", MIGRATIONS)
        store = SqliteLockStore(ctx.db)
    else:
        store = MemoryLockStore()
    service = LockService(ctx, store)
    ctx.locks = service
    ctx.gate = service
    ctx.observers.append(service)
    return Component(route_handlers=ROUTES, on_startup=[service.start], on_shutdown=[service.stop])
