"""Events component: the durable event log (``ctx.events``), its transports, and record state.

Installed before rooms, locks and persist, so they emit into this log.
"""

from __future__ import annotations

from collab.context import Component, HubContext
from collab.events.log import EventLog
from collab.events.store import EventStore, MemoryEventStore, SqliteEventStore

__all__ = ["install"]


def install(ctx: HubContext) -> Component:
    store: EventStore
    if ctx.db is not None:
        SqliteEventStore.register(ctx.db)
        store = SqliteEventStore(ctx.db)
    else:
        store = MemoryEventStore()
    events = EventLog(store, ctx.settings.events, ctx.metrics)
    ctx.events = events
    return Component(on_startup=[events.start], on_shutdown=[events.stop])
