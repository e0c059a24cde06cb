"""Events the hub itself causes: ``record.changed``, ``presence.changed``, ``comment.added``.

A RoomObserver (``ctx.observers``). Hooks are sync and cheap: they note who changed what and
schedule one flush per record. ``record.changed`` goes out at most once per
``events.changed_throttle_seconds`` per record (never one per keystroke) and names the fields
whose converged value differs from the last summary; ``presence.changed`` is coalesced over a
short window and only sent when the set of people (or their fields) actually differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from pycrdt import Array

from collab.document import COMMENTS, comments
from collab.events.log import EventLog
from collab.protocol.origin import Origin, OriginKind
from collab.records import RecordKey
from collab.rooms.hooks import ConnectionInfo, RoomHandle
from collab.settings import EventSettings

__all__ = ["EventObserver"]

log = logging.getLogger("collab.events")

PRESENCE_COALESCE_SECONDS = 0.5
_MAX_COMMENT_CHARS = 2_000


class _RoomState:
    __slots__ = (
        "changes",
        "comment_count",
        "comment_ids",
        "last_changed",
        "origins",
        "presence",
        "presence_task",
        "users",
        "values",
    )

    def __init__(self, room: RoomHandle) -> None:
        self.values: dict[str, Any] = room.values()
        # Dicts used as sets: an empty dict is 64 bytes, an empty set 216, per loaded room.
        self.comment_ids: dict[str, None] = dict.fromkeys(_comment_id(item) for item in comments(room.doc))
        self.comment_count = _comment_count(room)
        self.presence: list[tuple[str, str, str]] = _presence(room)
        self.users: dict[str, None] = {}
        self.origins: dict[str, None] = {}
        self.last_changed = 0.0
        self.changes: asyncio.Task[None] | None = None
        self.presence_task: asyncio.Task[None] | None = None


def _comment_count(room: RoomHandle) -> int:
    return len(room.doc.get(COMMENTS, type=Array))


def _comment_id(item: Any) -> str:
    if isinstance(item, dict) and item.get("id"):
        return str(item["id"])
    return json.dumps(item, sort_keys=True, default=str)


def _presence(room: RoomHandle) -> list[tuple[str, str, str]]:
    people = {
        (str(p.get("user", "")), str(p.get("name", "")), str(p.get("field", "") or ""))
        for p in room.presence()
    }
    return sorted(people)


class EventObserver:
    def __init__(self, events: EventLog, settings: EventSettings) -> None:
        self.events = events
        self.throttle = max(0.0, settings.changed_throttle_seconds)
        self._rooms: dict[RecordKey, _RoomState] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- hooks -----------------------------------------------------------------------------

    def room_loaded(self, room: RoomHandle) -> None:
        self._rooms[room.record] = _RoomState(room)

    def updates_stored(self, room: RoomHandle, origins: Sequence[Origin]) -> None:
        users: list[str] = []
        state: _RoomState | None = None
        for origin in origins:
            if origin.kind is OriginKind.PEER:
                continue  # the hub that stored it emits the events
            state = state or self._state(room)
            user = origin.user or ("filemaker" if origin.kind is OriginKind.FILEMAKER else "")
            if user:
                state.users[user] = None
            users.append(user)
            state.origins[origin.kind.value] = None
        if state is None:
            return
        self.events.activity.touch_record(room.record.room, room.record.layout_path, users)
        # A new comment is credited to the batch's last author when it does not name one.
        self._check_comments(room, state, users[-1])
        if state.changes is None:
            delay = max(0.0, state.last_changed + self.throttle - time.monotonic())
            state.changes = self._spawn(self._flush_changes(room, state, delay))

    def presence_changed(self, room: RoomHandle) -> None:
        state = self._state(room)
        if state.presence_task is None:
            state.presence_task = self._spawn(self._flush_presence(room, state))

    def connection_joined(self, room: RoomHandle, connection: ConnectionInfo) -> None:
        self.presence_changed(room)

    def connection_left(self, room: RoomHandle, connection: ConnectionInfo) -> None:
        self.presence_changed(room)

    async def room_unloading(self, room: RoomHandle) -> None:
        state = self._rooms.pop(room.record, None)
        if state is None:
            return
        for task in (state.changes, state.presence_task):
            if task is not None:
                task.cancel()
        if state.users or state.origins:
            await self._emit_changes(room, state)

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- work ------------------------------------------------------------------------------

    def _state(self, room: RoomHandle) -> _RoomState:
        state = self._rooms.get(room.record)
        if state is None:  # the hub loaded it before we saw it: start from what it holds now
            state = self._rooms[room.record] = _RoomState(room)
        return state

    def _spawn(self, work: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _check_comments(self, room: RoomHandle, state: _RoomState, user: str) -> None:
        count = _comment_count(room)
        if count == state.comment_count:
            return  # the common case (typing): no need to read the thread
        state.comment_count = count
        for item in comments(room.doc):
            ident = _comment_id(item)
            if ident in state.comment_ids:
                continue
            state.comment_ids[ident] = None
            body = item if isinstance(item, dict) else {"text": str(item)}
            payload = {
                "id": str(body.get("id", "")),
                "user": str(body.get("user", "") or user),
                "name": str(body.get("name", "")),
                "text": str(body.get("text", ""))[:_MAX_COMMENT_CHARS],
                "at": str(body.get("at", "")),
            }
            self._spawn(self._emit("comment.added", room.record, payload, payload["user"]))

    async def _flush_changes(self, room: RoomHandle, state: _RoomState, delay: float) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)  # the throttle window, not a barrier
        finally:
            state.changes = None
        await self._emit_changes(room, state)

    async def _emit_changes(self, room: RoomHandle, state: _RoomState) -> None:
        values = room.values()
        changed = sorted(
            name for name in set(values) | set(state.values) if values.get(name) != state.values.get(name)
        )
        users, origins = sorted(state.users), sorted(state.origins)
        state.values, state.users, state.origins = values, {}, {}
        state.last_changed = time.monotonic()
        if changed:
            payload = {"fields": changed, "users": users, "origins": origins}
            await self._emit("record.changed", room.record, payload, users[0] if len(users) == 1 else "")

    async def _flush_presence(self, room: RoomHandle, state: _RoomState) -> None:
        try:
            await asyncio.sleep(PRESENCE_COALESCE_SECONDS)  # coalescing window
        finally:
            state.presence_task = None
        people = _presence(room)
        if people == state.presence:
            return
        state.presence = people
        payload = {
            "count": len(people),
            "users": [{"user": user, "name": name, "field": field} for user, name, field in people],
        }
        await self._emit("presence.changed", room.record, payload, "")

    async def _emit(self, type: str, record: RecordKey, payload: dict[str, Any], actor: str) -> None:
        try:
            await self.events.emit(type, record, payload, actor=actor)
        except Exception:
            log.exception("could not record a %s event for %s", type, record.room)
