"""Who is asking and what they asked for: the principal and the event filter of a request.

The same parsing serves every transport (query parameters for HTTP and SSE, the subscribe
message for the JSON WebSocket), so a filter means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from litestar import Request
from litestar.connection import ASGIConnection

from collab.auth.http import require_principal
from collab.auth.principal import Principal
from collab.context import HubContext
from collab.errors import AccessDenied, CollabError
from collab.events.model import EventFilter
from collab.records import RecordKey

__all__ = ["BadFilter", "context_of", "make_filter", "principal_of", "record_key"]

#: Longest ``types`` list accepted (a guard, not a product limit).
_MAX_TYPES = 32


class BadFilter(CollabError):
    """A filter parameter is malformed (HTTP 400, WebSocket error frame)."""


def context_of(connection: ASGIConnection[Any, Any, Any, Any]) -> HubContext:
    ctx: HubContext = connection.app.state.ctx
    return ctx


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """Bearer header, ``token`` query parameter or X-API-Key, as the auth part defines them.

    The auth part reads only headers, query parameters and the app, which a WebSocket has too.
    """
    return require_principal(cast(Request[Any, Any, Any], connection))


def record_key(database: str, layout: str, key: str) -> RecordKey:
    try:
        return RecordKey.from_parts(database, layout, key)
    except ValueError as exc:
        raise BadFilter(str(exc)) from None


def make_filter(
    principal: Principal,
    *,
    record: str | None = None,
    layout: str | None = None,
    user: str | None = None,
    types: str | Iterable[str] | None = None,
) -> EventFilter:
    """Validate the parameters and refuse, up front, a record or layout the principal may not see."""
    room: str | None = None
    if record:
        try:
            key = RecordKey.parse(record)
        except ValueError as exc:
            raise BadFilter(f"record: {exc}") from None
        if not principal.may_open(key):
            raise AccessDenied(f"this token does not cover the record {key.room}", code="out_of_scope")
        room = key.room
    layout_path: str | None = None
    if layout:
        database, sep, name = layout.partition("/")
        if not sep or not database or not name or "/" in name:
            raise BadFilter(f"layout must be database/layout, got {layout!r}")
        if not principal.may_see_layout(database, name):
            raise AccessDenied(f"this token does not cover the layout {layout}", code="out_of_scope")
        layout_path = RecordKey(database, name, "_").layout_path
    wanted: frozenset[str] | None = None
    if types:
        items = types.split(",") if isinstance(types, str) else list(types)
        names = {str(item).strip() for item in items if str(item).strip()}
        if len(names) > _MAX_TYPES:
            raise BadFilter(f"types: at most {_MAX_TYPES} event types")
        wanted = frozenset(names) or None
    return EventFilter(record=room, layout=layout_path, user=user or None, types=wanted)
