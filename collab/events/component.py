"""Events component: the durable event log (``ctx.events``), its transports, and record state.

Installed before rooms, locks and persist, so they emit into this log; its observer is in
``ctx.observers`` before theirs.
"""

from __future__ import annotations

from collab.context import Component, HubContext
from collab.events.http import long_poll, sse_stream
from collab.events.log import EventLog
from collab.events.observer import EventObserver
from collab.events.state import add_comment, edit_fields, record_state
from collab.events.store import EventStore, MemoryEventStore, SqliteEventStore
from collab.events.ws import events_socket

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
    observer = EventObserver(events, ctx.settings.events)
    ctx.observers.append(observer)
    ctx.on_drain.append(events.drain)
    return Component(
        route_handlers=[long_poll, sse_stream, events_socket, record_state, edit_fields, add_comment],
        on_startup=[events.start],
        on_shutdown=[observer.stop, events.stop],
    )
