"""Events over HTTP: long polling for Insert From URL, and Server-Sent Events for browsers.

Long poll: ``GET /api/events?since=SEQ&wait=SECONDS`` answers at once when newer events
exist, else holds until one arrives or ``wait`` (capped at ``events.long_poll_max_seconds``,
below Insert From URL's 60 s) ends. Always ``{"events", "next", "count", "more",
"poll_after_ms"}``; ``since`` omitted means "from now".

SSE: ``GET /api/events/stream``; ``id:`` is the seq, so a reconnecting EventSource resumes
from ``Last-Event-ID`` and gets exactly what it missed, once. Comment heartbeats keep
proxies from closing an idle stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.params import FromQuery
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from collab.auth.principal import Principal
from collab.events.access import BadFilter, context_of, make_filter, principal_of
from collab.events.log import EventLog, Page
from collab.events.model import EventFilter

__all__ = ["events_page", "long_poll", "sse_stream"]

_NO_STORE = {"Cache-Control": "no-store"}
#: EventSource's reconnect delay (ms), sent once at the start of a stream.
_SSE_RETRY_MS = 2_000


def log_of(request: Request[Any, Any, Any]) -> EventLog:
    events = context_of(request).events
    assert isinstance(events, EventLog), "the events component is not installed"
    return events


def events_page(log: EventLog, page: Page, filter: EventFilter) -> dict[str, Any]:
    """The flat long-poll body. ``poll_after_ms`` is 0 when more is waiting right now."""
    return {
        "events": [event.wire() for event in page.events],
        "count": len(page.events),
        "next": page.next,
        "more": page.more,
        "poll_after_ms": 0 if page.more else log.poll_after_ms(filter),
    }


@get("/api/events", name="events:poll")
async def long_poll(
    request: Request[Any, Any, Any],
    since: FromQuery[int | None] = None,
    wait: FromQuery[float] = 0.0,
    record: FromQuery[str | None] = None,
    layout: FromQuery[str | None] = None,
    user: FromQuery[str | None] = None,
    types: FromQuery[str | None] = None,
    limit: FromQuery[int | None] = None,
) -> Response[dict[str, Any]]:
    principal = principal_of(request)
    log = log_of(request)
    filter = make_filter(principal, record=record, layout=layout, user=user, types=types)
    if wait < 0:
        raise BadFilter("wait must be zero or more seconds")
    cursor = log.head if since is None else since
    hold = min(wait, log.settings.long_poll_max_seconds)
    ctx = context_of(request)
    ctx.metrics.event_subscribers.inc()
    try:
        page = await log.wait(cursor, filter, principal, hold, limit)
    finally:
        ctx.metrics.event_subscribers.dec()
    return Response(events_page(log, page, filter), headers=_NO_STORE)


@get("/api/events/stream", name="events:stream")
async def sse_stream(
    request: Request[Any, Any, Any],
    since: FromQuery[int | None] = None,
    record: FromQuery[str | None] = None,
    layout: FromQuery[str | None] = None,
    user: FromQuery[str | None] = None,
    types: FromQuery[str | None] = None,
) -> ServerSentEvent:
    principal = principal_of(request)
    log = log_of(request)
    filter = make_filter(principal, record=record, layout=layout, user=user, types=types)
    resume = request.headers.get("last-event-id", "").strip()
    if resume:
        if not resume.isdigit():
            raise BadFilter("Last-Event-ID must be an event seq")
        cursor = int(resume)
    else:
        cursor = log.head if since is None else since
    stream = _stream(request, log, filter, principal, cursor)
    return ServerSentEvent(
        stream, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


async def _stream(
    request: Request[Any, Any, Any], log: EventLog, filter: EventFilter, principal: Principal, cursor: int
) -> AsyncIterator[ServerSentEventMessage]:
    metrics = context_of(request).metrics
    heartbeat = max(0.05, log.settings.sse_heartbeat_seconds)
    metrics.event_subscribers.inc()
    try:
        # Tell the client where it starts (and the reconnect delay) before any event arrives.
        yield ServerSentEventMessage(data=None, comment=f"collab events from {cursor}", retry=_SSE_RETRY_MS)
        while True:
            # The pull is the backpressure: a slow client only lags its cursor, never a queue.
            page = await log.wait(cursor, filter, principal, heartbeat)
            cursor = page.next
            if not page.events:
                if not log.running:
                    return
                yield ServerSentEventMessage(data=None, comment="heartbeat")
                continue
            for event in page.events:
                yield ServerSentEventMessage(data=msgspec.json.encode(event.wire()).decode(), id=event.seq)
    finally:
        metrics.event_subscribers.dec()
