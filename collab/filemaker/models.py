"""The Data API's response objects as msgspec Structs (wire names are camelCase).

Values in ``field_data`` are exactly what FileMaker sent (numbers as JSON numbers, dates in
``MM/dd/yyyy``, empty as ``""``); ``collab.filemaker.values`` converts them for documents.
``record_id`` is FileMaker's internal id: it can change, so it is never a record's identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from collab.filemaker.errors import DataAPIError

__all__ = [
    "DataInfo",
    "FieldMeta",
    "FoundSet",
    "LayoutMetadata",
    "PortalDataInfo",
    "ProductInfo",
    "Record",
    "ScriptResult",
    "ValueList",
    "ValueListItem",
    "convert",
    "flatten_names",
    "found_set",
]

T = TypeVar("T")


class _Wire(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    pass


class PortalDataInfo(_Wire, frozen=True):
    database: str = ""
    table: str = ""
    found_count: int = 0
    returned_count: int = 0
    portal_object_name: str | None = None


class Record(_Wire, frozen=True):
    """One record of a layout: ``field_data`` by field name, ``portal_data`` by portal name."""

    record_id: str
    mod_id: str
    field_data: dict[str, Any] = msgspec.field(default_factory=dict)
    portal_data: dict[str, list[dict[str, Any]]] = msgspec.field(default_factory=dict)
    portal_data_info: list[PortalDataInfo] = msgspec.field(default_factory=list)


class DataInfo(_Wire, frozen=True):
    """Counts for a read: rows in the table, rows found, rows returned in this page."""

    database: str = ""
    layout: str = ""
    table: str = ""
    total_record_count: int = 0
    found_count: int = 0
    returned_count: int = 0


class FoundSet(msgspec.Struct, kw_only=True, frozen=True):
    """The records of one read (a page of the found set) and its ``data_info``."""

    records: list[Record]
    data_info: DataInfo

    def __len__(self) -> int:
        return len(self.records)


class FieldMeta(_Wire, frozen=True):
    """One ``fieldMetaData`` entry of a layout (keys as documented by Claris)."""

    name: str
    type: str = "normal"  # normal | calculation | summary
    display_type: str = "editText"
    result: str = "text"  # text | number | date | time | timeStamp | container
    value_list: str | None = None
    global_: bool = msgspec.field(default=False, name="global")
    auto_enter: bool = False
    four_digit_year: bool = False
    not_empty: bool = False
    numeric: bool = False
    time_of_day: bool = False
    max_repeat: int = 1
    max_characters: int = 0
    repetition_start: int = 1
    repetition_end: int = 1


class ValueListItem(_Wire, frozen=True):
    value: str
    display_value: str = ""


class ValueList(_Wire, frozen=True):
    name: str
    type: str = "customList"  # customList | byField
    values: list[ValueListItem] = msgspec.field(default_factory=list)


class LayoutMetadata(msgspec.Struct, kw_only=True, frozen=True):
    """A layout's fields, its portals' fields and its value lists."""

    fields: list[FieldMeta]
    portals: dict[str, list[FieldMeta]] = msgspec.field(default_factory=dict)
    value_lists: list[ValueList] = msgspec.field(default_factory=list)

    def field_types(self) -> dict[str, str]:
        """Field name -> ``result`` type, for ``collab.filemaker.values``."""
        return {item.name: item.result for item in self.fields}

    def field(self, name: str) -> FieldMeta | None:
        for item in self.fields:
            if item.name == name:
                return item
        return None


class ProductInfo(_Wire, frozen=True):
    name: str = ""
    build_date: str = ""
    version: str = ""
    date_format: str = "MM/dd/yyyy"
    time_format: str = "HH:mm:ss"
    time_stamp_format: str = "MM/dd/yyyy HH:mm:ss"


class ScriptResult(msgspec.Struct, kw_only=True, frozen=True):
    """``scriptResult`` (None when the script returned nothing) and ``scriptError`` (0 = none).

    A failing script still gives messages code 0: callers must look at ``error``.
    """

    result: str | None
    error: int = 0


# -- reading response bodies ------------------------------------------------------------


def convert(value: Any, kind: type[T]) -> T:
    """``value`` (decoded JSON) as ``kind``; a shape we do not expect is a DataAPIError."""
    try:
        return msgspec.convert(value, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise DataAPIError(f"FileMaker Server sent an unexpected response: {exc}") from None


def _record(item: Any) -> Record:
    if not isinstance(item, dict) or "recordId" not in item:
        raise DataAPIError("FileMaker Server sent a record without a recordId")
    item = {**item, "recordId": str(item["recordId"]), "modId": str(item.get("modId", ""))}
    return convert(item, Record)


def found_set(result: Mapping[str, Any]) -> FoundSet:
    """A read's ``response`` (``data`` and ``dataInfo``) as a FoundSet."""
    records = [_record(item) for item in result.get("data", [])]
    info = convert(result.get("dataInfo") or {}, DataInfo)
    return FoundSet(records=records, data_info=info)


def flatten_names(entries: Any, children: str) -> list[str]:
    """Layout or script names from FileMaker's folder tree, depth first."""
    names: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        if entry.get("isFolder"):
            names.extend(flatten_names(entry.get(children, []), children))
        elif "name" in entry:
            names.append(str(entry["name"]))
    return names
