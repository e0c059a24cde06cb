"""Record state and edits for scripts: ``GET /api/records/{db}/{layout}/{key}``, ``.../fields``, ``.../comments``.

The state is one flat JSON object (nested only one level, so JSONGetElement paths stay
``values.Notes``, ``lock.state``, ``writeback.pending``). Field edits go into the live
document as small edits (text as diffs), so people typing in the same field keep their
characters; they are stored, relayed and written back like any other change.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from pycrdt import Array, Doc

from collab.auth.http import require_record, require_role
from collab.auth.principal import Principal
from collab.context import HubContext
from collab.document import COMMENTS, apply_values, doc_fields
from collab.errors import CloseCode, CollabError, Conflict
from collab.events.access import BadFilter, context_of, principal_of, record_key
from collab.events.http import log_of
from collab.events.model import EventFilter, iso_time, now
from collab.protocol.origin import Origin, OriginKind
from collab.records import RecordKey
from collab.settings import LayoutSettings

__all__ = ["add_comment", "edit_fields", "record_state"]

_PATH = "/api/records/{database:str}/{layout:str}/{key:str}"
MAX_COMMENT_CHARS = 4_000
_NO_STORE = {"Cache-Control": "no-store"}


def _layout(ctx: HubContext, record: RecordKey) -> LayoutSettings:
    layout = ctx.settings.layout(record.database, record.layout)
    if layout is None:
        raise NotFoundException(f"layout {record.layout_path} is not configured on this hub")
    return layout


@asynccontextmanager
async def _open(ctx: HubContext, record: RecordKey) -> AsyncIterator[Any]:
    """``ctx.rooms.open`` with its refusals turned into problems a script can test."""
    if ctx.rooms is None:
        raise Conflict("the collaboration hub is not running", code="hub_unavailable", status=503)
    entered = False
    try:
        async with ctx.rooms.open(record) as room:
            entered = True
            yield room
    except CollabError as exc:
        close_code = getattr(exc, "close_code", None)
        if entered or close_code is None:
            raise
        if close_code == CloseCode.NOT_FOUND:
            raise Conflict(exc.detail, code="record_missing", status=404) from None
        raise Conflict(exc.detail, code="record_unavailable", status=503) from None


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _part_state(service: Any, method: str, *args: Any) -> dict[str, Any]:
    """Another part's flat state, or {} while that part is not installed."""
    if service is None or not hasattr(service, method):
        return {}
    result = await _maybe_await(getattr(service, method)(*args))
    return dict(result) if isinstance(result, dict) else {}


def _target(request: Request[Any, Any, Any], database: str, layout: str, key: str) -> tuple[Principal, RecordKey]:
    principal = principal_of(request)
    record = record_key(database, layout, key)
    require_record(principal, record)
    return principal, record


async def _body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    try:
        body = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        raise BadFilter("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadFilter("the body must be a JSON object")
    return body


@get(_PATH, name="records:state")
async def record_state(request: Request[Any, Any, Any], database: FromPath[str], layout: FromPath[str], key: FromPath[str]) -> Response[dict[str, Any]]:
    ctx = context_of(request)
    principal, record = _target(request, database, layout, key)
    _layout(ctx, record)
    async with _open(ctx, record) as room:
        values = dict(room.values())
        # Only who and where: the raw awareness state (cursors, colours) is the web viewer's business.
        presence = [
            {"user": str(p.get("user", "")), "name": str(p.get("name", "")), "field": str(p.get("field", "") or "")}
            for p in room.presence()
        ]
    lock = await _part_state(ctx.locks, "describe", record, principal)
    writeback = await _part_state(ctx.writeback, "status", record)
    log = log_of(request)
    body = {
        "record": record.room,
        "database": record.database,
        "layout": record.layout,
        "key": record.key,
        "values": values,
        "lock": lock,
        "state": str(lock.get("state", "open")),
        "presence": presence,
        "presence_count": len(presence),
        "editors": ", ".join(sorted({p["name"] or p["user"] for p in presence} - {""})),
        "last_saved_mod_id": str(writeback.get("last_saved_mod_id", "") or ""),
        "pending": bool(writeback.get("pending", False)),
        "writeback": writeback,
        "events_next": log.head,
        "poll_after_ms": log.poll_after_ms(EventFilter(record=record.room)),
    }
    return Response(body, headers=_NO_STORE)


def _check_fields(layout: LayoutSettings, values: dict[str, Any], available: list[str]) -> dict[str, Any]:
    known = set(doc_fields(layout, available)) | set(available)
    unknown = sorted(name for name in values if name not in known)
    if unknown:
        raise BadFilter(f"unknown fields for {layout.database}/{layout.layout}: {', '.join(unknown)}")
    read_only = sorted(name for name in values if name in {*layout.read_only_fields, layout.key_field})
    if read_only:
        raise Conflict(f"read-only fields cannot be written: {', '.join(read_only)}", code="read_only_field")
    plain: dict[str, Any] = {}
    for name, value in values.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            raise BadFilter(f"field {name}: values must be text, numbers, true/false or null")
        plain[name] = str(value) if name in layout.text_fields and value is not None else value
    return plain


@post(_PATH + "/fields", name="records:fields", status_code=200)
async def edit_fields(request: Request[Any, Any, Any], database: FromPath[str], layout: FromPath[str], key: FromPath[str]) -> Response[dict[str, Any]]:
    ctx = context_of(request)
    principal, record = _target(request, database, layout, key)
    settings = _layout(ctx, record)
    require_role(principal, "editor")
    body = await _body(request)
    fields = body.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise BadFilter('send {"fields": {"FieldName": value, ...}} with at least one field')
    if ctx.gate is not None:
        reason = ctx.gate.write_denied(record, principal)
        if reason:
            raise Conflict(f"the record cannot be written now ({reason})", code=reason)
    changed: list[str] = []
    async with _open(ctx, record) as room:
        values = _check_fields(settings, fields, list(room.values()))

        def change(doc: Doc[Any]) -> None:
            changed.extend(apply_values(doc, room.layout, values))

        origin = Origin(OriginKind.SERVER, ident=principal.sub, user=principal.sub)
        await room.edit(change, origin)
        current = dict(room.values())
    return Response(
        {"record": record.room, "changed": changed, "changed_count": len(changed), "values": current},
        headers=_NO_STORE,
    )


@post(_PATH + "/comments", name="records:comments", status_code=201)
async def add_comment(request: Request[Any, Any, Any], database: FromPath[str], layout: FromPath[str], key: FromPath[str]) -> Response[dict[str, Any]]:
    """Comments stay open during review (approvers explain their decision), so no lock check."""
    ctx = context_of(request)
    principal, record = _target(request, database, layout, key)
    _layout(ctx, record)
    require_role(principal, "editor", "approver")
    text = (await _body(request)).get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadFilter('send {"text": "..."} with a non-empty comment')
    if len(text) > MAX_COMMENT_CHARS:
        raise BadFilter(f"comments are at most {MAX_COMMENT_CHARS} characters")
    item = {"id": uuid.uuid4().hex, "user": principal.sub, "name": principal.display, "text": text, "at": iso_time(now())}
    async with _open(ctx, record) as room:
        origin = Origin(OriginKind.SERVER, ident=principal.sub, user=principal.sub)
        await room.edit(lambda doc: doc.get(COMMENTS, type=Array).append(item), origin)
        count = len(room.doc.get(COMMENTS, type=Array))
    return Response({"record": record.room, "comment": item, "count": count}, status_code=201, headers=_NO_STORE)
