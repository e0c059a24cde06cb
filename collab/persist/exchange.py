"""One exchange with FileMaker for one record: read it, merge it into the room, write to it.

No scheduling or retry policy here (that is :mod:`collab.persist.service`); callers hold the
record's lock, so the base cannot move underneath an exchange.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec

from collab.document import apply_values, doc_fields, read_values
from collab.filemaker.errors import DataAPIError, FieldValidationError, RecordMissing
from collab.filemaker.models import FieldMeta, Record
from collab.filemaker.values import document_to_filemaker, record_to_document
from collab.persist.merge import MergeResult, merge_record
from collab.persist.outbox import Base
from collab.protocol.origin import Origin, OriginKind
from collab.rooms.hooks import RoomHandle
from collab.settings import LayoutSettings

__all__ = ["Exchange", "InvalidValue", "Written", "differs", "writable_fields"]

FILEMAKER_ORIGIN = Origin(OriginKind.FILEMAKER, ident="filemaker")


def _norm(value: Any) -> Any:
    return "" if value is None else value


def differs(a: Any, b: Any) -> bool:
    return bool(_norm(a) != _norm(b))


def writable_fields(layout: LayoutSettings, names: list[str]) -> list[str]:
    """Fields the hub may send: never the key field; read-only ones only if they are status fields."""
    status = {
        layout.status_fields.state,
        layout.status_fields.approved_by,
        layout.status_fields.approved_at,
    } - {""}
    read_only = set(layout.read_only_fields) - status
    return [name for name in doc_fields(layout, names) if name != layout.key_field and name not in read_only]


class InvalidValue(Exception):
    """A document value cannot be converted to its FileMaker field type (found before sending)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field {field}: {message}")
        self.field = field
        self.message = message


def to_field_data(changed: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in changed.items():
        try:
            out.update(document_to_filemaker({name: value}, types))
        except ValueError as exc:
            raise InvalidValue(name, str(exc).removeprefix(f"field {name}: ")) from None
    return out


class Written(msgspec.Struct, frozen=True):
    base: Base
    fields: list[str]
    #: The document's state vector when the written values were read.
    state_vector: bytes


class Exchange:
    """FileMaker I/O for records; ``pace(record)`` is awaited before every Data API call."""

    def __init__(self, filemaker: Any, pace: Callable[[Any], Awaitable[None]]) -> None:
        self.filemaker = filemaker
        self.pace = pace

    async def field_types(self, room: RoomHandle) -> dict[str, str]:
        types: dict[str, str] = await self.filemaker.field_types(room.record.database, room.layout.layout)
        return types

    async def read(self, room: RoomHandle, base: Base | None) -> Record:
        """The record as FileMaker has it now, found by cached recordId, else by key field."""
        record, layout = room.record, room.layout
        client = self.filemaker.client(record.database)
        if base is not None and base.record_id:
            await self.pace(record)
            try:
                found: Record = await client.get_record(layout.layout, base.record_id)
            except RecordMissing:
                pass
            else:
                # recordId is only a cache: make sure it still names this record.
                if str(found.field_data.get(layout.key_field, "")) == record.key:
                    return found
        await self.pace(record)
        hit: Record | None = await client.find_one_by(layout.layout, layout.key_field, record.key)
        if hit is None:
            raise RecordMissing(101, f"no record has {layout.key_field} = {record.key}", 500)
        return hit

    async def theirs(self, room: RoomHandle, found: Record) -> dict[str, Any]:
        types = await self.field_types(room)
        values = record_to_document(found.field_data, types)
        return {name: values[name] for name in doc_fields(room.layout, list(values)) if name in values}

    async def base_from(self, room: RoomHandle, found: Record) -> Base:
        return Base(
            record=room.record, record_id=found.record_id, mod_id=found.mod_id, values=await self.theirs(room, found)
        )

    async def merge(self, room: RoomHandle, base: Base, found: Record) -> tuple[MergeResult, Base]:
        """Bring FileMaker's changes since ``base`` into the room as small edits (one transaction)."""
        layout = room.layout
        theirs = await self.theirs(room, found)
        fields = list(theirs)
        results: list[MergeResult] = []

        def change(doc: Any) -> None:
            # Read ours inside the transaction so edits arriving meanwhile are part of the merge.
            ours = read_values(doc, layout)
            result = merge_record(
                base.values,
                theirs,
                ours,
                text_fields=layout.text_fields,
                fields=fields,
                policy=layout.conflict_policy,
            )
            results.append(result)
            if result.apply:
                apply_values(doc, layout, result.apply)

        await room.edit(change, FILEMAKER_ORIGIN)
        new_base = msgspec.structs.replace(
            base, record_id=found.record_id, mod_id=found.mod_id, values=theirs
        )
        return results[0], new_base

    def changes(self, room: RoomHandle, base: Base, types: Mapping[str, str]) -> tuple[dict[str, Any], bytes]:
        """Fields whose document value differs from the base, and the state vector they come from."""
        ours = room.values()
        state_vector = room.doc.get_state()
        names = writable_fields(room.layout, list(ours))
        changed = {
            name: _norm(ours.get(name))
            for name in names
            if differs(ours.get(name), base.values.get(name))
            and (not types or (name in types and types[name] != "container"))
        }
        return changed, state_vector

    async def write(self, room: RoomHandle, base: Base, changed: dict[str, Any], types: Mapping[str, str],
                    state_vector: bytes) -> Written:
        """PATCH only ``changed``, with the base modId. Raises the client's typed errors."""
        record, layout = room.record, room.layout
        client = self.filemaker.client(record.database)
        field_data = to_field_data(changed, types)
        record_id = base.record_id
        if not record_id:
            record_id = (await self.read(room, None)).record_id
        await self.pace(record)
        try:
            try:
                mod_id: str = await client.edit_record(layout.layout, record_id, field_data, mod_id=base.mod_id)
            except RecordMissing:
                # A stale recordId (records get new ids when reimported): find it again by key.
                found = await self.read(room, None)
                record_id = found.record_id
                await self.pace(record)
                mod_id = await client.edit_record(layout.layout, record_id, field_data, mod_id=base.mod_id)
        except FieldValidationError as exc:
            if exc.field is None:
                named = await self._culprit(room, exc.code, changed)
                if named is not None:
                    raise FieldValidationError(exc.code, exc.message, exc.http_status, field=named) from None
            raise
        now = time.time()
        new_base = Base(
            record=record,
            record_id=record_id,
            mod_id=mod_id,
            values={**base.values, **changed},
            saved_at=now,
            saved_mod_id=mod_id,
        )
        return Written(new_base, sorted(changed), state_vector)

    async def _culprit(self, room: RoomHandle, code: int, changed: Mapping[str, Any]) -> str | None:
        """FileMaker does not say which field failed validation: find the one the layout's
        field options rule out, when exactly one does."""
        try:
            metadata = await self.filemaker.layout_metadata(room.record.database, room.layout.layout)
        except DataAPIError:
            return None
        suspects = [name for name, value in changed.items() if _violates(metadata.field(name), code, value)]
        return suspects[0] if len(suspects) == 1 else None


def _violates(meta: FieldMeta | None, code: int, value: Any) -> bool:
    if meta is None:
        return False
    text = "" if value is None else str(value)
    if code == 511:
        return 0 < meta.max_characters < len(text)
    if code == 509:
        return meta.not_empty and text == ""
    if code == 502:
        return (meta.numeric or meta.result == "number") and not _is_number(value)
    if code == 500:
        return meta.result in ("date", "timeStamp")
    if code == 501:
        return meta.result == "time"
    return False


def _is_number(value: Any) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return True
    try:
        float(str(value))
    except ValueError:
        return str(value) == ""
    return True
