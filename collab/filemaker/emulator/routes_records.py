"""Data API record routes: get, range, find, create, edit, delete, duplicate, run a script,
container upload (reference sections 1.2, 5 and 6), with attached scripts in order."""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from collab.filemaker.emulator.asgi import Request, Response, envelope
from collab.filemaker.emulator.codes import FMError
from collab.filemaker.emulator.find import run_find, sort_rows
from collab.filemaker.emulator.model import LayoutView, PortalRange, Renderer, resolve_layout
from collab.filemaker.emulator.schema import FieldDef
from collab.filemaker.emulator.scripts import SCRIPT_KEYS, ScriptCall, ScriptPlan, run_script
from collab.filemaker.emulator.sessions import Session
from collab.filemaker.emulator.store import Container, Row
from collab.filemaker.emulator.values import parse_dateformats

if TYPE_CHECKING:
    from collab.filemaker.emulator.emulator import Emulator

__all__ = ["create", "delete", "duplicate", "edit", "find", "get_range", "get_record", "run_named_script", "upload"]


def _unknown(keys: Iterable[str], allowed: set[str], prefixes: tuple[str, ...]) -> None:
    bad = sorted(k for k in keys if k not in allowed and not k.startswith(prefixes))
    if bad:
        raise FMError("960", f"Unknown parameter(s): {','.join(bad)}", http_status=400)


def _positive(raw: Any) -> int:
    try:
        value = int(str(raw))
    except ValueError:
        raise FMError("960", http_status=400) from None
    if value < 1:
        raise FMError("960", http_status=400)
    return value


def _json_param(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        raise FMError("960", http_status=400) from None


def _portal_range(params: Mapping[str, Any], offset_key: str, limit_key: str) -> PortalRange:
    rng = PortalRange()
    if "portal" in params:
        names = _json_param(params["portal"])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise FMError("960", http_status=400)
        rng.names = names
    for key, value in params.items():
        if key.startswith(offset_key):
            rng.offsets[key[len(offset_key) :]] = _positive(value)
        elif key.startswith(limit_key):
            rng.limits[key[len(limit_key) :]] = _positive(value)
    return rng


def _sort_spec(view: LayoutView, raw: Any) -> list[tuple[FieldDef, str, bool]]:
    spec = _json_param(raw)
    if not isinstance(spec, list):
        raise FMError("960", http_status=400)
    out: list[tuple[FieldDef, str, bool]] = []
    for item in spec:
        if not isinstance(item, dict) or "fieldName" not in item:
            raise FMError("960", http_status=400)
        name = str(item["fieldName"])
        order = str(item.get("sortOrder", "ascend"))
        if order not in ("ascend", "descend"):
            raise FMError("960", http_status=400)
        hit = view.portal_field(name)
        f = view.field(name) or (hit[1] if hit else None)
        if f is None:
            raise FMError("102")
        out.append((f, name, order == "descend"))
    return out


class _Request:
    """One record request: its session, layout, scripts and rendering."""

    def __init__(self, emu: Emulator, req: Request, p: dict[str, str], params: Mapping[str, Any]) -> None:
        self.emu = emu
        self.session: Session = emu.sessions.use(req.bearer(), p["db"])
        self.view = resolve_layout(emu.schema.databases, p["db"], p["layout"])
        self.plan = ScriptPlan.parse(params)
        self.keys: dict[str, Any] = {}
        self.dateformats = parse_dateformats(params.get("dateformats", 0))
        self.render_view = self.view
        if params.get("layout.response"):
            other = resolve_layout(emu.schema.databases, p["db"], str(params["layout.response"]))
            if other.table_name != self.view.table_name:
                raise FMError("105")
            self.render_view = other
        self.renderer = Renderer(emu.store, self.session, self.dateformats, emu.container_url(req.base_url), p["version"])

    async def stage(self, stage: str, found: Iterable[Row] = ()) -> None:
        if stage not in self.plan.stages:
            return
        name, param = self.plan.stages[stage]
        db = self.view.database
        known, fn = self.emu.script(db, name)
        call = ScriptCall(name, param, db, self.view.name, stage, [r.id for r in found], self.emu)
        result, error = await run_script(fn, call) if known else (None, "104")
        suffix = "" if stage == "script" else f".{stage}"
        if result is not None:
            self.keys[f"scriptResult{suffix}"] = result
        self.keys[f"scriptError{suffix}"] = error

    def rows(self) -> list[Row]:
        return self.emu.store.all(self.view.database, self.view.table_name)

    async def sorted(self, rows: list[Row], sort: Any) -> list[Row]:
        await self.stage("presort", rows)
        if sort is not None:
            rows = sort_rows(rows, _sort_spec(self.view, sort), self.renderer.values_of(self.view))
        await self.stage("script", rows)
        return rows

    def data(self, rows: list[Row], found: int, portals: PortalRange) -> Response:
        info = {
            "database": self.view.database,
            "layout": self.render_view.name,
            "table": self.view.table_name,
            "totalRecordCount": self.emu.store.count(self.view.database, self.view.table_name),
            "foundCount": found,
            "returnedCount": len(rows),
        }
        data = [self.renderer.record(self.render_view, r, portals) for r in rows]
        return envelope({**self.keys, "dataInfo": info, "data": data})


_READ = {"portal", "layout.response", "dateformats", *SCRIPT_KEYS}


async def get_record(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    _unknown(req.query, _READ, ("_offset.", "_limit."))
    r = _Request(emu, req, p, req.query)
    portals = _portal_range(req.query, "_offset.", "_limit.")
    await r.stage("prerequest")
    row = emu.writer.row(r.view.database, r.view.table_name, p["id"])
    rows = await r.sorted([row], None)
    return r.data(rows, 1, portals)


async def get_range(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    _unknown(req.query, _READ | {"_offset", "_limit", "_sort"}, ("_offset.", "_limit."))
    r = _Request(emu, req, p, req.query)
    portals = _portal_range(req.query, "_offset.", "_limit.")
    offset, limit = _positive(req.query.get("_offset", 1)), _positive(req.query.get("_limit", 100))
    await r.stage("prerequest")
    rows = await r.sorted(r.rows(), req.query.get("_sort"))
    if offset > len(rows):
        raise FMError("101")  # FileMaker Server answers an empty table (or offset past the end) with 101
    return r.data(rows[offset - 1 : offset - 1 + limit], len(rows), portals)


async def find(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    body = req.json_body(allow_empty=False)
    _unknown(body, {"query", "sort", "offset", "limit", *_READ}, ("offset.", "limit."))
    r = _Request(emu, req, p, body)
    portals = _portal_range(body, "offset.", "limit.")
    offset, limit = _positive(body.get("offset", 1)), _positive(body.get("limit", 100))
    query = body.get("query")
    if not isinstance(query, list) or not query or not all(isinstance(q, dict) for q in query):
        raise FMError("960", http_status=400)
    if not any(v is not None and str(v) != "" for q in query for k, v in q.items() if k != "omit"):
        raise FMError("400")

    def field_of(name: str) -> FieldDef:
        f = r.view.field(name)
        hit = r.view.portal_field(name)
        resolved = f if f is not None else (hit[1] if hit else None)
        if resolved is None or resolved.is_global:
            raise FMError("102")  # global fields cannot be find criteria
        return resolved

    await r.stage("prerequest")
    today = emu.writer.timestamp()[:10]
    rows = run_find(r.rows(), query, field_of, r.renderer.values_of(r.view), today)
    if not rows:
        raise FMError("401")
    rows = await r.sorted(rows, body.get("sort"))
    if offset > len(rows):
        raise FMError("401")
    return r.data(rows[offset - 1 : offset - 1 + limit], len(rows), portals)


def _write_body(req: Request, allowed: set[str]) -> dict[str, Any]:
    body = req.json_body()
    _unknown(body, allowed | set(SCRIPT_KEYS), ())
    return body


async def create(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    body = _write_body(req, {"fieldData", "portalData", "options", "dateformats"})
    r = _Request(emu, req, p, body)
    await r.stage("prerequest")
    row = emu.writer.create(r.view, r.session, body, r.dateformats)
    await r.sorted([row], None)
    return envelope({"recordId": str(row.id), "modId": str(row.mod), **r.keys})


async def edit(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    body = _write_body(req, {"fieldData", "portalData", "modId", "options", "dateformats"})
    r = _Request(emu, req, p, body)
    await r.stage("prerequest")
    row = emu.writer.edit(r.view, r.session, p["id"], body, r.dateformats)
    await r.sorted([row], None)
    return envelope({"modId": str(row.mod), **r.keys})


async def delete(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    _unknown(req.query, set(SCRIPT_KEYS), ())
    r = _Request(emu, req, p, req.query)
    await r.stage("prerequest")
    emu.writer.delete(r.view, p["id"])
    await r.sorted([], None)
    return envelope(dict(r.keys))


async def duplicate(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    body = _write_body(req, set())
    r = _Request(emu, req, p, body)
    await r.stage("prerequest")
    row = emu.writer.duplicate(r.view, p["id"])
    await r.sorted([row], None)
    return envelope({"recordId": str(row.id), "modId": str(row.mod), **r.keys})


async def run_named_script(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    _unknown(req.query, {"script.param"}, ())
    emu.sessions.use(req.bearer(), p["db"])
    view = resolve_layout(emu.schema.databases, p["db"], p["layout"])
    known, fn = emu.script(p["db"], p["script"])
    call = ScriptCall(p["script"], req.query.get("script.param", ""), p["db"], view.name, "direct", [], emu)
    result, error = await run_script(fn, call) if known else (None, "104")
    response: dict[str, Any] = {} if result is None else {"scriptResult": result}
    response["scriptError"] = error
    return envelope(response)


def _upload_part(req: Request) -> Container:
    head = f"Content-Type: {req.headers.get('content-type', '')}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + req.body)
    if message.is_multipart():
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "upload":
                payload = part.get_payload(decode=True)
                data = payload if isinstance(payload, bytes) else b""
                return Container(part.get_filename() or "upload", part.get_content_type(), data)
    raise FMError("958", "Parameter missing (*): upload", http_status=400)


async def upload(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    _unknown(req.query, {"modId"}, ())
    emu.sessions.use(req.bearer(), p["db"])
    view = resolve_layout(emu.schema.databases, p["db"], p["layout"])
    item = _upload_part(req)
    row = emu.writer.upload(view, p["id"], p["field"], p["rep"], item, req.query.get("modId"))
    return envelope({"modId": str(row.mod)})
