"""Layouts over tables: which fields and portals a layout shows, and records as the Data
API returns them (fieldData, portalData, portalDataInfo, string recordId/modId).

Each table has one table occurrence named after it, so related fields are ``Table::Field``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from collab.filemaker.emulator.codes import FMError
from collab.filemaker.emulator.schema import Database, FieldDef, LayoutDef, PortalDef, TableDef
from collab.filemaker.emulator.sessions import Session
from collab.filemaker.emulator.store import RecordStore, Row
from collab.filemaker.emulator.values import render_value

__all__ = ["LayoutView", "PortalRange", "PortalView", "Renderer", "resolve_layout"]

PORTAL_OFFSET, PORTAL_LIMIT = 1, 50


@dataclass(frozen=True)
class PortalView:
    defn: PortalDef
    table: TableDef
    fields: list[FieldDef]

    @property
    def name(self) -> str:
        return self.defn.name

    @property
    def to(self) -> str:
        return self.defn.table

    def field(self, qualified: str) -> FieldDef | None:
        prefix = f"{self.to}::"
        if not qualified.startswith(prefix):
            return None
        plain = qualified[len(prefix) :]
        return next((f for f in self.fields if f.name == plain), None)


@dataclass(frozen=True)
class LayoutView:
    database: str
    name: str
    defn: LayoutDef
    db: Database
    table: TableDef
    fields: list[FieldDef]
    portals: list[PortalView]

    @property
    def table_name(self) -> str:
        return self.defn.table

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)

    def portal(self, name: str) -> PortalView | None:
        return next((p for p in self.portals if p.name == name or p.to == name), None)

    def portal_field(self, qualified: str) -> tuple[PortalView, FieldDef] | None:
        for portal in self.portals:
            found = portal.field(qualified)
            if found is not None:
                return portal, found
        return None


def resolve_layout(databases: Mapping[str, Database], database: str, layout: str) -> LayoutView:
    db = databases.get(database)
    if db is None:
        raise FMError("802")
    defn = db.layouts.get(layout)
    if defn is None:
        raise FMError("105")
    table = db.tables[defn.table]
    fields = [f for name in defn.fields for f in [table.field(name)] if f] if defn.fields else list(table.fields)
    portals = []
    for p in defn.portals:
        related = db.tables[p.table]
        shown = [f for n in p.fields for f in [related.field(n)] if f] if p.fields else list(related.fields)
        portals.append(PortalView(p, related, shown))
    return LayoutView(database, layout, defn, db, table, fields, portals)


@dataclass
class PortalRange:
    names: list[str] | None = None  # None: every portal on the layout
    offsets: dict[str, int] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)


class Renderer:
    """Turns stored rows into Data API records for one request."""

    def __init__(
        self,
        store: RecordStore,
        session: Session | None,
        dateformats: int,
        container_url: Callable[[str], str],
        version: str = "vLatest",
    ) -> None:
        self.store = store
        self.session = session
        self.dateformats = dateformats
        self.container_url = container_url
        self.version = version

    def value(self, table: str, f: FieldDef, row: Row | None) -> Any:
        if f.is_global:
            stored = self.session.globals.get(f"{table}::{f.name}", "") if self.session else ""
        else:
            stored = row.data.get(f.name, "") if row is not None else ""
        if f.result == "container" and stored:
            return self.container_url(str(stored))
        return render_value(f, stored, self.dateformats)

    def related(self, view: LayoutView, portal: PortalView, row: Row) -> list[Row]:
        local, foreign = portal.defn.match
        key = row.data.get(local, "")
        if key == "" or key is None:
            return []
        return [r for r in self.store.all(view.database, portal.to) if r.data.get(foreign, "") == key]

    def record(self, view: LayoutView, row: Row, portals: PortalRange | None = None) -> dict[str, Any]:
        portals = portals or PortalRange()
        field_data = {f.name: self.value(view.table_name, f, row) for f in view.fields}
        portal_data: dict[str, list[dict[str, Any]]] = {}
        infos: list[dict[str, Any]] = []
        for portal in view.portals:
            if portals.names is not None and portal.name not in portals.names:
                continue
            related = self.related(view, portal, row)
            offset = portals.offsets.get(portal.name, PORTAL_OFFSET)
            limit = portals.limits.get(portal.name, PORTAL_LIMIT)
            if self.version == "v1" and view.defn.view == "table":
                limit = min(limit, 1)  # v1 follows a Table View layout: first related row only
            shown = related[offset - 1 : offset - 1 + limit]
            portal_data[portal.name] = [
                {
                    "recordId": str(r.id),
                    **{f"{portal.to}::{f.name}": self.value(portal.to, f, r) for f in portal.fields},
                    "modId": str(r.mod),
                }
                for r in shown
            ]
            infos.append(
                {
                    "portalObjectName": portal.name,
                    "database": view.database,
                    "table": portal.to,
                    "foundCount": len(related),
                    "returnedCount": len(shown),
                }
            )
        record: dict[str, Any] = {
            "fieldData": field_data,
            "portalData": portal_data,
            "recordId": str(row.id),
            "modId": str(row.mod),
        }
        if infos:
            record["portalDataInfo"] = infos
        return record

    def values_of(self, view: LayoutView) -> Callable[[Row, str], list[Any]]:
        """Stored values of a layout field or a ``TO::field`` portal field, for find and sort."""

        def values(row: Row, name: str) -> list[Any]:
            if view.field(name) is not None:
                return [row.data.get(name, "")]
            hit = view.portal_field(name)
            if hit is None:
                return [""]
            portal, f = hit
            return [r.data.get(f.name, "") for r in self.related(view, portal, row)]

        return values
