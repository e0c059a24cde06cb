"""Loading a room's stored state, or seeding it from FileMaker the first time it is opened.

The seed is deterministic (``collab.document.seed_update``) and goes in through
``DocStore.create_if_absent``, so two simultaneous first opens record exactly one seed and a
document is never re-created from plain values once it exists.
"""

from __future__ import annotations

import logging
from typing import Any

from pycrdt import get_state

from collab.document import doc_fields, seed_update
from collab.errors import CloseCode, CollabError
from collab.protocol.sync import parse_state_vector
from collab.records import RecordKey
from collab.rooms.hooks import SeedInfo
from collab.rooms.store import DocStore, StoredRoom, new_meta
from collab.settings import LayoutSettings

__all__ = ["RoomUnavailable", "load_or_seed", "seed_room"]

log = logging.getLogger("collab.rooms")


class RoomUnavailable(CollabError):
    """The room cannot be opened now; ``close_code`` says what the client should do."""

    def __init__(self, detail: str, *, close_code: int) -> None:
        super().__init__(detail)
        self.close_code = close_code


async def seed_room(
    store: DocStore, record: RecordKey, layout: LayoutSettings, values: dict[str, Any]
) -> StoredRoom:
    """Record the deterministic seed for ``values`` unless the room exists already."""
    client_id, update = seed_update(record, layout, values)
    clock = parse_state_vector(get_state(update)).get(client_id, 0)
    return await store.create_if_absent(record.room, new_meta(client_id, clock), update)


async def load_or_seed(
    store: DocStore, filemaker: Any, record: RecordKey, layout: LayoutSettings
) -> tuple[StoredRoom, SeedInfo | None]:
    stored = await store.load(record.room)
    if stored is not None:
        return stored, None
    if filemaker is None:
        raise RoomUnavailable("FileMaker is not configured on this hub", close_code=CloseCode.TRY_AGAIN)
    try:
        found = await filemaker.client(record.database).find_one_by(record.layout, layout.key_field, record.key)
        if found is None:
            raise RoomUnavailable("record not found in FileMaker", close_code=CloseCode.NOT_FOUND)
        types = await filemaker.field_types(record.database, record.layout)
    except RoomUnavailable:
        raise
    except Exception as exc:
        log.warning("cannot seed %s from FileMaker: %s", record, exc)
        raise RoomUnavailable(
            "FileMaker is not reachable right now; try again", close_code=CloseCode.TRY_AGAIN
        ) from exc
    from collab.filemaker.values import record_to_document

    field_data: dict[str, Any] = dict(found.field_data)
    converted = record_to_document(field_data, types)
    keep = doc_fields(layout, list(field_data))
    values = {name: converted[name] for name in keep if name in converted}
    stored = await seed_room(store, record, layout, values)
    if not stored.created:
        return stored, None
    return stored, SeedInfo(record_id=str(found.record_id), mod_id=str(found.mod_id), values=values)
