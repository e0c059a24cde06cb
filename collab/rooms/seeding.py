"""Loading a room's stored state, or seeding it from FileMaker the first time it is opened.

The seed is deterministic (``collab.document.seed_update``) and goes in through
``DocStore.create_if_absent``, so two simultaneous first opens record exactly one seed and a
document is never re-created from plain values once it exists.
"""

from __future__ import annotations

import asyncio
import itertools
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

__all__ = ["KeyLookups", "RoomUnavailable", "load_or_seed", "seed_room"]

log = logging.getLogger("collab.rooms")


class RoomUnavailable(CollabError):
    """The room cannot be opened now; ``close_code`` says what the client should do."""

    def __init__(self, detail: str, *, close_code: int) -> None:
        super().__init__(detail)
        self.close_code = close_code


class KeyLookups:
    """Finds the FileMaker row of records opened for the first time.

    A lookup goes out at once; lookups for the same layout asked while it is in flight wait
    and go out together in the next find (one ORed request per key, at most ``max_batch``),
    so a burst of first opens (a morning of web viewers, a restart) costs a few finds, not
    one round trip each.
    """

    def __init__(self, filemaker: Any, *, max_batch: int = 50) -> None:
        self.filemaker = filemaker
        self.max_batch = max_batch
        self._waiting: dict[tuple[str, str, str], dict[str, asyncio.Future[Any]]] = {}
        self._drains: dict[tuple[str, str, str], asyncio.Task[None]] = {}

    async def find(self, record: RecordKey, key_field: str) -> Any:
        """The record's row (``filemaker.models.Record``), or None when no row has the key."""
        lane = (record.database, record.layout, key_field)
        waiting = self._waiting.setdefault(lane, {})
        future = waiting.get(record.key)
        if future is None:
            future = waiting[record.key] = asyncio.get_running_loop().create_future()
        if lane not in self._drains:
            self._drains[lane] = asyncio.get_running_loop().create_task(self._drain(lane))
        return await future

    async def _drain(self, lane: tuple[str, str, str]) -> None:
        database, layout, field = lane
        try:
            while waiting := self._waiting.get(lane):
                keys = list(itertools.islice(waiting, self.max_batch))
                futures = {key: waiting.pop(key) for key in keys}
                try:
                    found = await self.filemaker.client(database).find_by_keys(layout, field, keys)
                except Exception as exc:  # noqa: BLE001 - handed to every opener of this batch
                    for future in futures.values():
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for key, future in futures.items():
                    if not future.done():
                        future.set_result(found.get(key))
        finally:
            del self._drains[lane]
            if not self._waiting.get(lane):
                self._waiting.pop(lane, None)


async def seed_room(
    store: DocStore, record: RecordKey, layout: LayoutSettings, values: dict[str, Any]
) -> StoredRoom:
    """Record the deterministic seed for ``values`` unless the room exists already."""
    client_id, update = seed_update(record, layout, values)
    clock = parse_state_vector(get_state(update)).get(client_id, 0)
    return await store.create_if_absent(record.room, new_meta(client_id, clock), update)


async def load_or_seed(
    store: DocStore, filemaker: Any, record: RecordKey, layout: LayoutSettings, lookups: KeyLookups | None = None
) -> tuple[StoredRoom, SeedInfo | None]:
    stored = await store.load(record.room)
    if stored is not None:
        return stored, None
    if filemaker is None:
        raise RoomUnavailable("FileMaker is not configured on this hub", close_code=CloseCode.TRY_AGAIN)
    try:
        if lookups is not None:
            found = await lookups.find(record, layout.key_field)
        else:
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
