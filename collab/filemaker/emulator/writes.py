"""Record writes: create, edit (partial, with modId), delete, duplicate, container upload,
and the simulated FileMaker Pro user's own commits.

Everything a call would change is checked first (fields on the layout, locks, modIds,
validation) and written only when all of it passes, so a failed call changes nothing.
modId moves by exactly one per commit that really changes the record (section 5).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from collab.filemaker.emulator.codes import FMError
from collab.filemaker.emulator.model import LayoutView, PortalView
from collab.filemaker.emulator.schema import Database, FieldDef, TableDef
from collab.filemaker.emulator.sessions import Session
from collab.filemaker.emulator.store import Container, RecordStore, Row
from collab.filemaker.emulator.validation import Validator
from collab.filemaker.emulator.values import Stored, parse_value

__all__ = ["Locks", "Options", "Writer"]

_REP = re.compile(r"^(.*)\((\d+)\)$")

#: (database, table, recordId) -> who holds the record open in "FileMaker Pro".
Locks = dict[tuple[str, str, int], str]


@dataclass(frozen=True)
class Options:
    entry_script: bool = False
    prohibit_script: bool = False

    @classmethod
    def parse(cls, raw: Any) -> Options:
        if raw is None:
            return cls()
        if not isinstance(raw, dict) or set(raw) - {"entrymode", "prohibitmode"}:
            raise FMError("960", http_status=400)
        modes = {k: str(v).lower() for k, v in raw.items()}
        if any(v not in ("user", "script") for v in modes.values()):
            raise FMError("960", http_status=400)
        return cls(modes.get("entrymode") == "script", modes.get("prohibitmode") == "script")


class Writer:
    def __init__(
        self, store: RecordStore, now: Callable[[], float], locks: Locks, databases: Mapping[str, Database]
    ) -> None:
        self.store = store
        self.now = now
        self.locks = locks
        self.validator = Validator(store, databases)

    def timestamp(self) -> str:
        return dt.datetime.fromtimestamp(self.now(), tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")

    def check_lock(self, db: str, table: str, record_id: int) -> None:
        if (db, table, record_id) in self.locks:
            raise FMError("301")

    def row(self, db: str, table: str, record_id: str | int) -> Row:
        try:
            number = int(record_id)
        except (TypeError, ValueError):
            raise FMError("101") from None
        row = self.store.get(db, table, number)
        if row is None:
            raise FMError("101")
        return row

    # -- values -------------------------------------------------------------------------

    def _parse(
        self, db: str, tname: str, table: TableDef, f: FieldDef, raw: Any, fmt: int, opts: Options, own: int | None
    ) -> Stored:
        if f.type != "normal" or f.result == "container" or (f.prohibitModify and not opts.prohibit_script):
            raise FMError("201")  # containers are written only through the upload route
        stored = parse_value(f, raw, fmt)
        if not opts.entry_script:
            self.validator.check(db, tname, f, raw, stored, fmt, own)
        return stored

    def auto_fill(self, db: str, tname: str, table: TableDef, data: dict[str, Any], given: set[str]) -> None:
        for f in table.fields:
            if f.name in given or f.is_global:
                continue
            if f.auto == "uuid":
                data[f.name] = str(uuid.uuid4()).upper()
            elif f.auto == "serial":
                start = 1 + max((int(v) for r in self.store.all(db, tname) if isinstance(v := r.data.get(f.name), int | float)), default=0)
                data[f.name] = self.store.next_value(f"serial:{db}:{tname}:{f.name}", start)
            elif f.auto in ("created", "modified"):
                data[f.name] = self.timestamp()
            elif f.default is not None and data.get(f.name, "") == "":
                data[f.name] = f.default
            else:
                data.setdefault(f.name, "")

    def _touch(self, table: TableDef, data: dict[str, Any]) -> None:
        for f in table.fields:
            if f.auto == "modified":
                data[f.name] = self.timestamp()

    def _field_changes(
        self, view: LayoutView, session: Session | None, field_data: Any, fmt: int, opts: Options, own: int | None
    ) -> tuple[dict[str, Stored], list[str], dict[str, Stored]]:
        """Validated new values for the layout's own fields, the deleteRelated targets, and
        global field values (set in the session only once the whole call succeeds)."""
        if not isinstance(field_data, dict):
            raise FMError("960", http_status=400)
        changes: dict[str, Stored] = {}
        staged: dict[str, Stored] = {}
        delete_related: list[str] = []
        for name, raw in field_data.items():
            if name == "deleteRelated":
                delete_related += raw if isinstance(raw, list) else [raw]
                continue
            plain, rep = name, 1
            if m := _REP.match(name):
                plain, rep = m.group(1), int(m.group(2))
            f = view.field(plain)
            if f is None:
                raise FMError("102")
            if rep != 1:
                raise FMError("111")  # only the first repetition is stored (docs/emulator.md)
            value = self._parse(view.database, view.table_name, view.table, f, raw, fmt, opts, own)
            if f.is_global:
                staged[f"{view.table_name}::{f.name}"] = value
                continue
            changes[f.name] = value
        return changes, delete_related, staged

    def _portal_changes(
        self, view: LayoutView, parent: dict[str, Any], portal_data: Any, fmt: int, opts: Options
    ) -> list[tuple[PortalView, Row | None, dict[str, Stored]]]:
        if portal_data is None:
            return []
        if not isinstance(portal_data, dict):
            raise FMError("960", http_status=400)
        plan: list[tuple[PortalView, Row | None, dict[str, Stored]]] = []
        for pname, rows in portal_data.items():
            portal = view.portal(pname)
            if portal is None or not isinstance(rows, list):
                raise FMError("102" if portal is None else "960")
            for item in rows:
                if not isinstance(item, dict):
                    raise FMError("960", http_status=400)
                existing: Row | None = None
                if "recordId" in item:
                    existing = self.row(view.database, portal.to, item["recordId"])
                    local, foreign = portal.defn.match
                    if existing.data.get(foreign) != parent.get(local):
                        raise FMError("101")
                    self.check_lock(view.database, portal.to, existing.id)
                    if "modId" in item and str(item["modId"]) != str(existing.mod):
                        raise FMError("306")
                values: dict[str, Stored] = {}
                for key, raw in item.items():
                    if key in ("recordId", "modId"):
                        continue
                    f = portal.field(key.split("(")[0])
                    if f is None:
                        raise FMError("102")
                    own = existing.id if existing else None
                    values[f.name] = self._parse(view.database, portal.to, portal.table, f, raw, fmt, opts, own)
                plan.append((portal, existing, values))
        return plan

    def _apply_portals(self, view: LayoutView, parent: dict[str, Any], plan: list[tuple[PortalView, Row | None, dict[str, Stored]]]) -> None:
        for portal, existing, values in plan:
            if existing is None:
                data = dict(values)
                data[portal.defn.match[1]] = parent.get(portal.defn.match[0], "")
                self.auto_fill(view.database, portal.to, portal.table, data, set(data))
                self.store.insert(view.database, portal.to, data)
            elif any(existing.data.get(k) != v for k, v in values.items()):
                existing.data.update(values)
                self._touch(portal.table, existing.data)
                existing.mod += 1
                self.store.update(view.database, portal.to, existing)

    def _delete_related(self, view: LayoutView, parent: Row, targets: list[str]) -> list[tuple[str, int]]:
        doomed: list[tuple[str, int]] = []
        for target in targets:
            name, _, rid = str(target).rpartition(".")
            portal = view.portal(name)
            if portal is None:
                raise FMError("102")
            row = self.row(view.database, portal.to, rid)
            local, foreign = portal.defn.match
            if row.data.get(foreign) != parent.data.get(local):
                raise FMError("101")
            self.check_lock(view.database, portal.to, row.id)
            doomed.append((portal.to, row.id))
        return doomed

    # -- operations (each in one SQLite transaction) ---------------------------------------

    def create(self, view: LayoutView, session: Session | None, body: dict[str, Any], fmt: int) -> Row:
        with self.store.transaction():
            return self._create(view, session, body, fmt)

    def edit(self, view: LayoutView, session: Session | None, record_id: str, body: dict[str, Any], fmt: int) -> Row:
        with self.store.transaction():
            return self._edit(view, session, record_id, body, fmt)

    def delete(self, view: LayoutView, record_id: str) -> None:
        with self.store.transaction():
            self._delete(view, record_id)

    def duplicate(self, view: LayoutView, record_id: str) -> Row:
        with self.store.transaction():
            return self._duplicate(view, record_id)

    def upload(self, view: LayoutView, record_id: str, field: str, rep: str, item: Container, mod_id: str | None) -> Row:
        with self.store.transaction():
            return self._upload(view, record_id, field, rep, item, mod_id)

    def user_edit(self, db: str, tname: str, table: TableDef, record_id: int, values: dict[str, Any], fmt: int) -> Row:
        """A FileMaker Pro user's commit: no layout, no validation, modId + 1 if anything changed."""
        with self.store.transaction():
            return self._user_edit(db, tname, table, record_id, values, fmt)

    def _create(self, view: LayoutView, session: Session | None, body: dict[str, Any], fmt: int) -> Row:
        opts = Options.parse(body.get("options"))
        changes, _, staged = self._field_changes(view, session, body.get("fieldData", {}), fmt, opts, None)
        data: dict[str, Any] = dict(changes)
        self.auto_fill(view.database, view.table_name, view.table, data, set(changes))
        if not opts.entry_script:
            for f in view.table.fields:
                if f.notEmpty and not f.is_global and data.get(f.name, "") == "":
                    raise FMError("509")
        plan = self._portal_changes(view, data, body.get("portalData"), fmt, opts)
        row = self.store.insert(view.database, view.table_name, data)
        self._apply_portals(view, data, plan)
        if session is not None:
            session.globals.update(staged)
        return row

    def _edit(self, view: LayoutView, session: Session | None, record_id: str, body: dict[str, Any], fmt: int) -> Row:
        opts = Options.parse(body.get("options"))
        row = self.row(view.database, view.table_name, record_id)
        self.check_lock(view.database, view.table_name, row.id)
        if "modId" in body and str(body["modId"]) != str(row.mod):
            raise FMError("306")
        changes, delete_related, staged = self._field_changes(view, session, body.get("fieldData", {}), fmt, opts, row.id)
        plan = self._portal_changes(view, row.data, body.get("portalData"), fmt, opts)
        doomed = self._delete_related(view, row, delete_related)
        if any(row.data.get(k) != v for k, v in changes.items()):
            row.data.update(changes)
            self._touch(view.table, row.data)
            row.mod += 1
            self.store.update(view.database, view.table_name, row)
        self._apply_portals(view, row.data, plan)
        for table, rid in doomed:
            self.store.delete(view.database, table, rid)
        if session is not None:
            session.globals.update(staged)
        return row

    def _delete(self, view: LayoutView, record_id: str) -> None:
        row = self.row(view.database, view.table_name, record_id)
        self.check_lock(view.database, view.table_name, row.id)
        self.store.delete(view.database, view.table_name, row.id)

    def _duplicate(self, view: LayoutView, record_id: str) -> Row:
        source = self.row(view.database, view.table_name, record_id)
        data = dict(source.data)
        regenerate = {f.name for f in view.table.fields if f.auto in ("uuid", "serial", "created", "modified")}
        self.auto_fill(view.database, view.table_name, view.table, data, set(data) - regenerate)
        return self.store.insert(view.database, view.table_name, data)

    def _upload(self, view: LayoutView, record_id: str, field: str, rep: str, item: Container, mod_id: str | None) -> Row:
        row = self.row(view.database, view.table_name, record_id)
        f = view.field(field)
        if f is None:
            raise FMError("102")
        if f.result != "container":
            raise FMError("201")
        if not rep.isdigit() or not 1 <= int(rep) <= f.maxRepeat:
            raise FMError("111")
        self.check_lock(view.database, view.table_name, row.id)
        if mod_id is not None and mod_id != str(row.mod):
            raise FMError("306")
        key = f"{secrets.token_hex(12)}/{quote(item.filename or 'upload', safe='')}"
        self.store.put_container(key, item)
        row.data[f.name] = key
        self._touch(view.table, row.data)
        row.mod += 1
        self.store.update(view.database, view.table_name, row)
        return row

    def _user_edit(self, db: str, tname: str, table: TableDef, record_id: int, values: dict[str, Any], fmt: int) -> Row:
        row = self.row(db, tname, record_id)
        changes: dict[str, Stored] = {}
        for name, raw in values.items():
            f = table.field(name)
            if f is None:
                raise FMError("102")
            changes[name] = parse_value(f, raw, fmt)
        if any(row.data.get(k) != v for k, v in changes.items()):
            row.data.update(changes)
            self._touch(table, row.data)
            row.mod += 1
            self.store.update(db, tname, row)
        return row
