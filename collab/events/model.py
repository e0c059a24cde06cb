"""The event: one entry of the durable, ordered event log, and the filters consumers use."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import msgspec

from collab.auth.principal import Principal
from collab.records import RecordKey

__all__ = [
    "EVENT_TYPES",
    "Event",
    "EventFilter",
    "parse_record",
    "visible_to",
]

#: Types the hub emits. Others may be added by later parts; consumers ignore unknown types.
EVENT_TYPES: frozenset[str] = frozenset(
    {
        "lock.changed",
        "approval.changed",
        "record.saved",
        "record.conflict",
        "record.error",
        "record.changed",
        "presence.changed",
        "comment.added",
    }
)


class Event(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    type: str
    #: Room string ``db/layout/key`` (percent-encoded parts), or None for hub-wide events.
    record: str | None
    #: ``db/layout`` of the record, kept apart so layout filters are an index lookup.
    layout: str | None
    actor: str
    #: Unix seconds.
    at: float
    payload: dict[str, Any]
    #: Users this event concerns besides the actor (e.g. the submitter of the record).
    concerns: tuple[str, ...] = ()

    def wire(self) -> dict[str, Any]:
        """The JSON shape every transport sends: flat, so JSONGetElement paths stay short."""
        database = layout = key = ""
        if self.record is not None:
            parsed = parse_record(self.record)
            database, layout, key = parsed.database, parsed.layout, parsed.key
        return {
            "seq": self.seq,
            "type": self.type,
            "record": self.record or "",
            "database": database,
            "layout": layout,
            "key": key,
            "actor": self.actor,
            "at": iso_time(self.at),
            "payload": self.payload,
        }


def iso_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> float:
    return time.time()


@lru_cache(maxsize=4096)
def parse_record(room: str) -> RecordKey:
    return RecordKey.parse(room)


def visible_to(principal: Principal, event: Event) -> bool:
    """A consumer only ever sees records its principal may open."""
    if event.record is None:
        return True
    return principal.may_open(parse_record(event.record))


class EventFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What a consumer asked for; every field narrows (AND)."""

    record: str | None = None
    layout: str | None = None
    user: str | None = None
    types: frozenset[str] | None = None

    def matches(self, event: Event) -> bool:
        if self.record is not None and event.record != self.record:
            return False
        if self.layout is not None and event.layout != self.layout:
            return False
        if self.types is not None and event.type not in self.types:
            return False
        if self.user is not None and self.user != event.actor and self.user not in event.concerns:
            return False
        return True

    @property
    def activity_key(self) -> str:
        """Which activity counter drives this filter's polling hint."""
        if self.record is not None:
            return f"record:{self.record}"
        if self.layout is not None:
            return f"layout:{self.layout}"
        if self.user is not None:
            return f"user:{self.user}"
        return "*"
