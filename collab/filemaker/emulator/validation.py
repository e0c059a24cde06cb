"""Field validation from the schema's field options, with FileMaker's codes: 500 four-digit
year, 502 numeric, 503 range, 504 unique, 506 value list, 509 not empty, 511 size."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collab.filemaker.emulator.codes import FMError
from collab.filemaker.emulator.schema import Database, FieldDef
from collab.filemaker.emulator.store import RecordStore
from collab.filemaker.emulator.values import Stored, two_digit_year

__all__ = ["Validator"]


class Validator:
    def __init__(self, store: RecordStore, databases: Mapping[str, Database]) -> None:
        self.store = store
        self.databases = databases

    def value_list_values(self, db: str, name: str) -> list[str] | None:
        """A custom list's values, or a by-field list's distinct values (sorted)."""
        database = self.databases.get(db)
        spec = database.value_lists.get(name) if database else None
        if isinstance(spec, list):
            return spec
        if isinstance(spec, dict) and "field" in spec:
            to, _, fname = spec["field"].partition("::")
            return sorted({str(r.data.get(fname, "")) for r in self.store.all(db, to)} - {""})
        return None

    def check(self, db: str, table: str, f: FieldDef, raw: Any, stored: Stored, fmt: int, own: int | None) -> None:
        """Raise the validation error ``stored`` (written as ``raw``) earns in ``table``.

        ``own`` is the record being edited, which a unique check must not count.
        """
        if f.fourDigitYear and isinstance(raw, str) and fmt != 2 and two_digit_year(raw):
            raise FMError("500")
        if stored == "":
            if f.notEmpty:
                raise FMError("509")
            return
        if f.result == "number" and f.numeric and isinstance(stored, str):
            raise FMError("502")
        if f.maxCharacters and len(str(stored)) > f.maxCharacters:
            raise FMError("511")
        if f.range and isinstance(stored, int | float) and not f.range[0] <= stored <= f.range[-1]:
            raise FMError("503")
        if f.inValueList and f.valueList:
            listed = self.value_list_values(db, f.valueList)
            if listed is not None and str(stored) not in listed:
                raise FMError("506")
        if f.unique and any(r.data.get(f.name) == stored and r.id != own for r in self.store.all(db, table)):
            raise FMError("504")
