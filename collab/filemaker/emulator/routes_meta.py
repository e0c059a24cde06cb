"""Data API routes without records: sessions, productInfo, databases, layouts, scripts,
layout metadata and global fields (reference sections 1.1, 1.2 and 4)."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from collab.filemaker.emulator.asgi import Request, Response, envelope
from collab.filemaker.emulator.codes import FMError
from collab.filemaker.emulator.model import resolve_layout
from collab.filemaker.emulator.schema import Database, FieldDef, TreeFolder
from collab.filemaker.emulator.values import parse_value

if TYPE_CHECKING:
    from collab.filemaker.emulator.emulator import Emulator

__all__ = [
    "PRODUCT_INFO",
    "databases",
    "field_meta",
    "globals_",
    "layout_metadata",
    "layouts",
    "login",
    "logout",
    "product_info",
    "scripts",
]

PRODUCT_INFO = {
    "name": "FileMaker Data API Engine",
    "buildDate": "03/27/2025",
    "version": "21.1.1.41",
    "dateFormat": "MM/dd/yyyy",
    "timeFormat": "HH:mm:ss",
    "timeStampFormat": "MM/dd/yyyy HH:mm:ss",
}


def _basic(req: Request) -> tuple[str, str] | None:
    scheme, _, value = req.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        account, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (account, password) if sep else None


def _account(db: Database, credentials: tuple[str, str] | None) -> str:
    """The matching account name (names case-insensitive, passwords not), or 212."""
    if credentials is not None:
        for account in db.accounts:
            if account.name.lower() == credentials[0].lower() and account.password == credentials[1]:
                return account.name
    raise FMError("212")


def _database(emu: Emulator, name: str) -> Database:
    db = emu.schema.databases.get(name)
    if db is None:
        raise FMError("802")
    return db


async def login(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    db = _database(emu, p["db"])
    body = req.json_body()
    if set(body) - {"fmDataSource"}:
        raise FMError("960", f"Unknown parameter(s): {','.join(sorted(set(body) - {'fmDataSource'}))}", http_status=400)
    sources = body.get("fmDataSource", [])
    if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
        raise FMError("960", http_status=400)
    session = emu.sessions.open(p["db"], _account(db, _basic(req)))
    return envelope({"token": session.token}, headers=[("X-FM-Data-Access-Token", session.token)])


async def logout(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    emu.sessions.close(p["token"], p["db"])
    return envelope({})


async def product_info(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    return envelope({"productInfo": dict(PRODUCT_INFO)})


async def databases(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    names = list(emu.schema.databases)
    if emu.filter_databases:
        credentials = _basic(req)
        names = [n for n in names if _matches(emu.schema.databases[n], credentials)]
        if not names:
            raise FMError("212")
    return envelope({"databases": [{"name": n} for n in names]})


def _matches(db: Database, credentials: tuple[str, str] | None) -> bool:
    try:
        _account(db, credentials)
    except FMError:
        return False
    return True


def _tree(items: list[str | TreeFolder], entry: Any, key: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, TreeFolder):
            out.append({"name": item.folder, "isFolder": True, key: _tree(item.items, entry, key)})
        else:
            out.append(entry(item))
    return out


def _names(items: list[str | TreeFolder]) -> set[str]:
    return {n for i in items for n in (_names(i.items) if isinstance(i, TreeFolder) else {i})}


async def layouts(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    emu.sessions.use(req.bearer(), p["db"])
    db = _database(emu, p["db"])
    tree = list(db.layout_tree) + [n for n in db.layouts if n not in _names(db.layout_tree)]

    def entry(name: str) -> dict[str, Any]:
        layout = db.layouts.get(name)
        return {"name": name, "table": layout.table} if layout else {"name": name}

    return envelope({"layouts": _tree(tree, entry, "folderLayoutNames")})


async def scripts(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    emu.sessions.use(req.bearer(), p["db"])
    db = _database(emu, p["db"])
    known = list(emu.scripts.get(p["db"], {}))
    tree = list(db.script_tree) + [n for n in known if n not in _names(db.script_tree)]
    return envelope({"scripts": _tree(tree, lambda n: {"name": n, "isFolder": False}, "folderScriptNames")})


def field_meta(f: FieldDef, name: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "type": f.type, "displayType": f.displayType, "result": f.result}
    if f.valueList:
        entry["valueList"] = f.valueList
    entry.update(
        {
            "global": f.is_global,
            "autoEnter": f.auto_enter,
            "fourDigitYear": f.fourDigitYear,
            "maxRepeat": f.maxRepeat,
            "maxCharacters": f.maxCharacters,
            "notEmpty": f.notEmpty,
            "numeric": f.numeric,
            "timeOfDay": f.timeOfDay,
            "repetitionStart": 1,
            "repetitionEnd": f.maxRepeat,
        }
    )
    return entry


async def layout_metadata(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    emu.sessions.use(req.bearer(), p["db"])
    view = resolve_layout(emu.schema.databases, p["db"], p["layout"])
    unknown = set(req.query) - {"recordId"}
    if unknown:
        raise FMError("960", f"Unknown parameter(s): {','.join(sorted(unknown))}", http_status=400)
    fields = [field_meta(f, f.name) for f in view.fields]
    portals = {pv.name: [field_meta(f, f"{pv.to}::{f.name}") for f in pv.fields] for pv in view.portals}
    used = [f.valueList for f in view.fields if f.valueList]
    used += [f.valueList for pv in view.portals for f in pv.fields if f.valueList]
    lists = []
    for name in dict.fromkeys(used):
        spec = view.db.value_lists[name]
        values = emu.writer.validator.value_list_values(p["db"], name) or []
        lists.append(
            {
                "name": name,
                "type": "customList" if isinstance(spec, list) else "byField",
                "values": [{"value": v, "displayValue": v} for v in values],
            }
        )
    response: dict[str, Any] = {"fieldMetaData": fields, "portalMetaData": portals}
    if lists:
        response["valueLists"] = lists
    return envelope(response)


async def globals_(emu: Emulator, req: Request, p: dict[str, str]) -> Response:
    session = emu.sessions.use(req.bearer(), p["db"])
    db = _database(emu, p["db"])
    body = req.json_body()
    values = body.get("globalFields")
    if set(body) - {"globalFields"} or not isinstance(values, dict) or not values:
        raise FMError("960", http_status=400)
    staged: dict[str, Any] = {}
    for name, raw in values.items():
        table, sep, plain = str(name).rpartition("::")
        candidates = [table] if sep else [t for t, d in db.tables.items() if d.field(plain)]
        hits = [(t, f) for t in candidates if t in db.tables for f in [db.tables[t].field(plain)] if f and f.is_global]
        if len(hits) != 1:
            raise FMError("102")
        table, f = hits[0]
        staged[f"{table}::{f.name}"] = parse_value(f, raw, 0)
    session.globals.update(staged)
    return envelope({})
