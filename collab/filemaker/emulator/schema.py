"""Database schema files: databases -> accounts, tables (fields, seed records), layouts,
value lists, and the layout and script trees (folders).

The format is TOML; ``schemas/sales.toml`` is the bundled demo and the documentation of
every key. Mistakes are reported with the database, table or layout they are in.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec

from collab.errors import SettingsError

__all__ = [
    "DEMO_SCHEMA",
    "Account",
    "Database",
    "FieldDef",
    "LayoutDef",
    "PortalDef",
    "Schema",
    "ScriptDef",
    "TableDef",
    "TreeFolder",
    "load_schema",
]

DEMO_SCHEMA = Path(__file__).with_name("schemas") / "sales.toml"

Result = Literal["text", "number", "date", "time", "timeStamp", "container"]


class _S(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class FieldDef(_S):
    name: str
    result: Result = "text"
    type: Literal["normal", "calculation", "summary"] = "normal"
    displayType: str = "editText"  # the Data API's own key names
    valueList: str = ""
    is_global: bool = msgspec.field(default=False, name="global")
    #: Auto-enter: a fresh UUID, the next serial number, creation or modification timestamp.
    auto: Literal["", "uuid", "serial", "created", "modified"] = ""
    #: Auto-enter constant (internal format: ISO dates), used when a create leaves it empty.
    default: str | int | float | None = None
    fourDigitYear: bool = False
    notEmpty: bool = False
    numeric: bool = False
    unique: bool = False
    #: Validation "member of value list" (code 506) against ``valueList``.
    inValueList: bool = False
    #: Validation "in range" [low, high] (code 503), numbers only.
    range: list[float] = msgspec.field(default_factory=list)
    maxCharacters: int = 0
    maxRepeat: int = 1
    timeOfDay: bool = False
    #: "Prohibit modification of value during data entry": 201 unless prohibitmode=script.
    prohibitModify: bool = False

    @property
    def auto_enter(self) -> bool:
        return bool(self.auto) or self.default is not None


class TableDef(_S):
    fields: list[FieldDef]
    #: Seed records, values in the internal format (ISO dates, "YYYY-MM-DD HH:MM:SS").
    records: list[dict[str, Any]] = msgspec.field(default_factory=list)

    def field(self, name: str) -> FieldDef | None:
        for item in self.fields:
            if item.name == name:
                return item
        return None


class PortalDef(_S):
    #: Portal object name (the key in portalData).
    name: str
    #: Related table occurrence (one per table in this emulator: its table's name).
    table: str
    #: Relationship: [field in the layout's table, field in the related table].
    match: list[str]
    fields: list[str] = msgspec.field(default_factory=list)


class LayoutDef(_S):
    table: str
    #: Fields on the layout, in order; empty means every field of the table.
    fields: list[str] = msgspec.field(default_factory=list)
    portals: list[PortalDef] = msgspec.field(default_factory=list)
    #: v1 returns only the first portal row for "table" views (reference section 1).
    view: Literal["form", "list", "table"] = "form"


class TreeFolder(_S):
    folder: str
    items: list[str | TreeFolder] = msgspec.field(default_factory=list)


class ScriptDef(_S):
    name: str
    #: Built-in Python script (see scripts.BUILTINS) or "module:function".
    run: str = ""


class Account(_S):
    name: str
    password: str


class Database(_S):
    accounts: list[Account]
    tables: dict[str, TableDef]
    layouts: dict[str, LayoutDef]
    value_lists: dict[str, list[str] | dict[str, str]] = msgspec.field(default_factory=dict)
    layout_tree: list[str | TreeFolder] = msgspec.field(default_factory=list)
    scripts: list[ScriptDef] = msgspec.field(default_factory=list)
    script_tree: list[str | TreeFolder] = msgspec.field(default_factory=list)


class Schema(_S):
    databases: dict[str, Database]


def load_schema(path: str | Path | None = None) -> Schema:
    """Read and check a schema file (the demo when ``path`` is None).

    Raises:
        SettingsError: naming the file and what is wrong in it.
    """
    source = Path(path) if path is not None else DEMO_SCHEMA
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"schema file {source} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"schema file {source} is not valid TOML: {exc}") from None
    try:
        schema = msgspec.convert(raw, Schema)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"schema file {source}: {exc}") from None
    problems = [f"{db}: {p}" for db, database in schema.databases.items() for p in _check(database)]
    if problems:
        raise SettingsError(f"schema file {source}: " + "; ".join(problems))
    return schema


def _check(db: Database) -> list[str]:
    problems: list[str] = []
    if not db.accounts:
        problems.append("needs at least one account")
    for tname, table in db.tables.items():
        names = [f.name for f in table.fields]
        if len(set(names)) != len(names):
            problems.append(f"table {tname} has duplicate field names")
        for f in table.fields:
            if f.valueList and f.valueList not in db.value_lists:
                problems.append(f"field {tname}::{f.name} uses unknown value list {f.valueList!r}")
        for i, record in enumerate(table.records, 1):
            unknown = sorted(set(record) - set(names))
            if unknown:
                problems.append(f"seed record {i} of table {tname} has unknown fields {unknown}")
    for lname, layout in db.layouts.items():
        base = db.tables.get(layout.table)
        if base is None:
            problems.append(f"layout {lname} uses unknown table {layout.table!r}")
            continue
        problems += [f"layout {lname} shows unknown field {n!r}" for n in layout.fields if base.field(n) is None]
        for portal in layout.portals:
            maybe = db.tables.get(portal.table)
            if maybe is None or len(portal.match) != 2:
                problems.append(f"portal {portal.name} on layout {lname} needs a known table and match = [local, foreign]")
                continue
            related = maybe
            if base.field(portal.match[0]) is None or related.field(portal.match[1]) is None:
                problems.append(f"portal {portal.name} on layout {lname} matches unknown fields {portal.match}")
            problems += [
                f"portal {portal.name} on layout {lname} shows unknown field {n!r}"
                for n in portal.fields
                if related.field(n) is None
            ]
    return problems
