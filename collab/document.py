"""The record document: how a FileMaker record lives in a Yjs document.

- each merged text field is a top-level ``Y.Text`` named exactly like the FileMaker field;
- every other field is an entry of the top-level ``Y.Map`` named ``fields`` (last writer wins);
- the comment thread is the top-level ``Y.Array`` named ``comments`` (JSON objects).

Clients never create shared types. The hub seeds a document once, deterministically: the
seed transaction uses a client id derived from the record and the seeded values, so two
seeds of the same values produce the same bytes and merge into one (no duplicated text).
Later changes from FileMaker enter as small edits (:func:`apply_values`), never as a re-seed.

pycrdt's Text offsets are UTF-8 byte offsets; diffs are computed on Python strings and
converted, so multi-byte characters are never split.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pycrdt import Array, Doc, Map, Text

from collab.records import RecordKey
from collab.settings import LayoutSettings

__all__ = [
    "COMMENTS",
    "FIELDS",
    "apply_text",
    "apply_values",
    "comments",
    "doc_fields",
    "map_fields",
    "read_values",
    "seed_client_id",
    "seed_document",
    "seed_update",
    "text_fields",
]

FIELDS = "fields"
COMMENTS = "comments"
_MAX_CLIENT_ID = (1 << 53) - 1  # Yjs client ids are 53-bit


def doc_fields(layout: LayoutSettings, available: list[str] | None = None) -> list[str]:
    """The record's fields that live in the document, in a stable order."""
    if layout.fields:
        return list(layout.fields)
    return sorted(available or [])


def text_fields(layout: LayoutSettings) -> list[str]:
    return list(layout.text_fields)


def map_fields(layout: LayoutSettings, available: list[str] | None = None) -> list[str]:
    merged = set(layout.text_fields)
    return [name for name in doc_fields(layout, available) if name not in merged]


def seed_client_id(record: RecordKey, values: Mapping[str, Any]) -> int:
    """A client id fixed by the record and the seeded values (never 0)."""
    canonical = json.dumps([record.room, dict(sorted(values.items()))], sort_keys=True, default=str)
    digest = int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:8], "big")
    return (digest & _MAX_CLIENT_ID) or 1


def seed_document(doc: Doc[Any], layout: LayoutSettings, values: Mapping[str, Any]) -> None:
    """Write ``values`` into an empty ``doc`` (one transaction, stable order)."""
    merged = set(layout.text_fields)
    with doc.transaction(origin="seed"):
        for name in layout.text_fields:
            text = doc.get(name, type=Text)
            initial = values.get(name, "")
            if initial:
                text.insert(0, str(initial))
        fields = doc.get(FIELDS, type=Map)
        for name in sorted(values):
            if name not in merged:
                fields[name] = _plain(values[name])
        doc.get(COMMENTS, type=Array)


def seed_update(record: RecordKey, layout: LayoutSettings, values: Mapping[str, Any]) -> tuple[int, bytes]:
    """The deterministic seed: (seed client id, update bytes)."""
    client_id = seed_client_id(record, values)
    doc: Doc[Any] = Doc(client_id=client_id)
    seed_document(doc, layout, values)
    return client_id, doc.get_update()


def read_values(doc: Doc[Any], layout: LayoutSettings) -> dict[str, Any]:
    """The converged field values: text fields as str, the rest as stored in the map."""
    values: dict[str, Any] = {}
    fields = doc.get(FIELDS, type=Map)
    for name, value in fields.items():
        values[name] = _to_py(value)
    for name in layout.text_fields:
        values[name] = str(doc.get(name, type=Text))
    return values


def comments(doc: Doc[Any]) -> list[Any]:
    return [_to_py(item) for item in doc.get(COMMENTS, type=Array)]


def apply_text(text: Text, new: str) -> bool:
    """Turn ``text`` into ``new`` with minimal inserts and deletes. Returns True if it changed."""
    old = str(text)
    if old == new:
        return False
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    # Apply from the end so earlier byte offsets stay valid.
    for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if tag == "equal":
            continue
        start = len(old[:i1].encode())
        end = len(old[:i2].encode())
        if tag in ("replace", "delete") and end > start:
            del text[start:end]
        if tag in ("replace", "insert"):
            text.insert(start, new[j1:j2])
    return True


def apply_values(
    doc: Doc[Any], layout: LayoutSettings, values: Mapping[str, Any], *, origin: object = None
) -> list[str]:
    """Bring ``values`` into ``doc`` as small edits in one transaction; return the changed fields."""
    changed: list[str] = []
    merged = set(layout.text_fields)
    with doc.transaction(origin=origin):
        fields = doc.get(FIELDS, type=Map)
        for name, value in values.items():
            if name in merged:
                if apply_text(doc.get(name, type=Text), "" if value is None else str(value)):
                    changed.append(name)
            else:
                plain = _plain(value)
                if name not in fields or _to_py(fields[name]) != plain:
                    fields[name] = plain
                    changed.append(name)
    return changed


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int | float | str):
        return value
    return str(value)


def _to_py(value: Any) -> Any:
    if isinstance(value, Text):
        return str(value)
    if isinstance(value, Map | Array):
        return value.to_py()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value
