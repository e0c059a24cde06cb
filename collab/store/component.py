"""Store component: the durable database (SQLite, or nothing for the in-memory backend) and the bus."""

from __future__ import annotations

from collab.bus.memory import MemoryBus
from collab.context import Component, HubContext
from collab.store.sqlite import SqliteDatabase

__all__ = ["install"]


def install(ctx: HubContext) -> Component:
    settings = ctx.settings
    ctx.bus = MemoryBus()
    startup = [ctx.bus.start]
    shutdown = [ctx.bus.stop]
    if settings.store.backend == "sqlite":
        db = SqliteDatabase(settings.store_path, group_commit_ms=settings.store.group_commit_ms)
        db.on_commit = lambda seconds, _jobs: ctx.metrics.store_commit.observe(seconds)
        ctx.db = db
        startup.insert(0, db.start)
        shutdown.append(db.stop)
    return Component(on_startup=startup, on_shutdown=shutdown)
