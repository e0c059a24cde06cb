"""The layout schema the web viewer builds its form from: ``GET /api/layouts/{db}/{layout}/schema``.

Which fields the document holds, their FileMaker result type (from the Data API's layout
metadata when FileMaker answers), whether each is merged text (a top-level ``Y.Text``) or an
entry of the ``fields`` map, and whether clients may edit it (never the key field, the
layout's ``read_only_fields`` or the approval status fields the hub writes itself).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from collab.document import FIELDS, doc_fields
from collab.settings import LayoutSettings

__all__ = ["FieldSchema", "LayoutSchema", "build_schema"]


class FieldSchema(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    #: FileMaker result type: text, number, date, time, timeStamp, container; "" when unknown.
    type: str
    #: ``text``: a top-level Y.Text named like the field; ``map``: an entry of the ``fields`` Y.Map.
    kind: str
    editable: bool
    merged: bool
    key: bool = False
    #: Which approval status this field receives (``state``, ``approved_by``, ``approved_at``), if any.
    status: str = ""


class LayoutSchema(msgspec.Struct, frozen=True, kw_only=True):
    database: str
    layout: str
    key_field: str
    fields: list[FieldSchema]
    text_fields: list[str]
    read_only_fields: list[str]
    #: Status name -> FileMaker field (only the mapped ones).
    status_fields: dict[str, str]
    approvals_required: int
    #: Name of the top-level Y.Map holding the non-text fields, and of the comments Y.Array.
    map_name: str = FIELDS
    comments_name: str = "comments"
    #: False when FileMaker did not answer and types are unknown (the form still works).
    types_known: bool = True


def build_schema(layout: LayoutSettings, field_types: Mapping[str, str] | None) -> LayoutSchema:
    """The schema of ``layout``; ``field_types`` (name -> result type) when FileMaker answered."""
    types = dict(field_types or {})
    available = [name for name, kind in types.items() if kind != "container"]
    merged = set(layout.text_fields)
    status = {
        role: name
        for role, name in (
            ("state", layout.status_fields.state),
            ("approved_by", layout.status_fields.approved_by),
            ("approved_at", layout.status_fields.approved_at),
        )
        if name
    }
    status_of = {name: role for role, name in status.items()}
    read_only = set(layout.read_only_fields) | {layout.key_field} | set(status_of)
    fields = [
        FieldSchema(
            name=name,
            type=types.get(name, "text" if name in merged else ""),
            kind="text" if name in merged else "map",
            editable=name not in read_only,
            merged=name in merged,
            key=name == layout.key_field,
            status=status_of.get(name, ""),
        )
        for name in doc_fields(layout, available)
    ]
    return LayoutSchema(
        database=layout.database,
        layout=layout.layout,
        key_field=layout.key_field,
        fields=fields,
        text_fields=list(layout.text_fields),
        read_only_fields=sorted(read_only),
        status_fields=status,
        approvals_required=layout.approvals_required,
        types_known=field_types is not None,
    )
