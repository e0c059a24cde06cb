"""Record identity: a room is one FileMaker record, ``{database}/{layout}/{key}``."""

from __future__ import annotations

from functools import cached_property
from urllib.parse import quote, unquote

import msgspec

__all__ = ["RecordKey"]


class RecordKey(msgspec.Struct, frozen=True, order=True, dict=True):
    """One FileMaker record, named by the layout's key field value (not recordId).

    ``dict=True`` gives instances a ``__dict__`` for the cached names below: the hub asks a
    room's record for its name on every update it stores and every event it records.
    """

    database: str
    layout: str
    key: str

    @cached_property
    def room(self) -> str:
        """The room name: each part percent-encoded, joined by ``/``."""
        return "/".join(quote(part, safe="") for part in (self.database, self.layout, self.key))

    @cached_property
    def layout_path(self) -> str:
        return f"{self.database}/{self.layout}"

    @classmethod
    def parse(cls, room: str) -> RecordKey:
        """Parse ``db/layout/key`` (percent-encoded parts). Raises ValueError when malformed."""
        parts = room.split("/")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"record must be database/layout/key, got {room!r}")
        return cls(*(unquote(part) for part in parts))

    @classmethod
    def from_parts(cls, database: str, layout: str, key: str) -> RecordKey:
        if not (database and layout and key):
            raise ValueError("database, layout and key must all be non-empty")
        return cls(database, layout, key)

    def __str__(self) -> str:
        return self.room
