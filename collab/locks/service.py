"""``LockService``: the write gate, the lock and approval actions, and their side effects.

The store is the authority; ``_cache`` holds the current state of records in use so the
hub's synchronous ``write_denied`` never waits for I/O. Every action runs under a per-record
asyncio lock: read the field values (for the audit hash), commit through the store, then tell
the room's opt-in connections (AccessState), write the approval state into FileMaker's status
fields (through the document, so the write-back path carries it) and emit an event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from collab.auth.principal import Principal
from collab.context import HubContext
from collab.document import apply_values
from collab.locks import machine
from collab.locks.audit import verify_chain
from collab.locks.describe import access_state, describe_state, entry_json
from collab.locks.leases import LeaseKeeper
from collab.locks.machine import Action, Request, Transition
from collab.locks.state import LockState, values_hash
from collab.locks.store import LockStore
from collab.protocol.origin import Origin, OriginKind
from collab.records import RecordKey
from collab.settings import LayoutSettings

__all__ = ["HUB", "LockService"]

log = logging.getLogger("collab.locks")

#: The actor of the hub's own lease releases (holder gone for longer than the grace period).
HUB = Principal(sub="hub", name="collab hub", roles=frozenset(), records=("*",))
_CACHE_LIMIT = 10_000
_PER_CALLER = ("actions", "reason", "leased_by_me")


class LockService:
    def __init__(self, ctx: HubContext, store: LockStore, *, clock: Callable[[], float] = time.time) -> None:
        self.ctx = ctx
        self.store = store
        #: Injectable for tests that need leases to expire without waiting.
        self.clock = clock
        self._cache: dict[RecordKey, LockState] = {}
        self._serial: dict[RecordKey, tuple[asyncio.Lock, int]] = {}
        self.leases = LeaseKeeper(self)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.leases.start()

    async def stop(self) -> None:
        await self.leases.stop()

    # -- the gate (sync, no I/O on the hot path) --------------------------------------------

    def state_of(self, record: RecordKey) -> LockState:
        state = self._cache.get(record)
        if state is None:
            state = self.store.peek(record)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[record] = state
        return state

    def remember(self, record: RecordKey, state: LockState) -> None:
        """The state just committed for ``record`` (the gate answers from it at once)."""
        self._cache[record] = state
        self.leases.changed(record)

    def write_denied(self, record: RecordKey, principal: Principal) -> str | None:
        if not principal.may_open(record):
            return "scope"
        return machine.write_denied(self.state_of(record), principal, self.clock())

    # -- reads -----------------------------------------------------------------------------

    def describe(self, record: RecordKey, principal: Principal) -> dict[str, Any]:
        """Flat JSON of the record's lock state and what ``principal`` may do (JSONGetElement)."""
        return describe_state(record, self.state_of(record), principal, self.clock(), self._required(record))

    async def audit(self, record: RecordKey) -> dict[str, Any]:
        entries = await self.store.entries(record)
        ok, problem = verify_chain(entries, await self.store.get(record))
        return {
            "record": record.room,
            "count": len(entries),
            "chain_ok": ok,
            "problem": problem,
            "entries": [entry_json(entry) for entry in entries],
        }

    async def waiting(self, principal: Principal, state: str = "submitted") -> list[dict[str, Any]]:
        now = self.clock()
        rows = await self.store.states(state or None)
        return [
            describe_state(record, item, principal, now, self._required(record))
            for record, item in rows
            if principal.may_open(record)
        ]

    # -- actions ---------------------------------------------------------------------------

    async def act(
        self,
        record: RecordKey,
        principal: Principal,
        action: Action,
        *,
        comment: str = "",
        expected_epoch: int | None = None,
    ) -> dict[str, Any]:
        """Do ``action`` for ``principal``; return the new :meth:`describe`. Raises AccessDenied/Conflict."""
        lock, users = self._serial.get(record, (asyncio.Lock(), 0))
        self._serial[record] = (lock, users + 1)
        try:
            async with lock:
                if self.ctx.rooms is None:
                    await self._act(record, None, principal, action, comment, expected_epoch)
                else:
                    async with self.ctx.rooms.open(record) as room:
                        await self._act(record, room, principal, action, comment, expected_epoch)
        finally:
            # Forget the lock once nobody holds or waits for it (the dict stays as small as the load).
            lock, users = self._serial[record]
            if users <= 1:
                del self._serial[record]
            else:
                self._serial[record] = (lock, users - 1)
        return self.describe(record, principal)

    async def _act(
        self, record: RecordKey, room: Any, principal: Principal, action: Action, comment: str, epoch: int | None
    ) -> Transition:
        layout = self._layout(record, room)
        values = room.values() if room is not None else {}
        request = Request(
            action=action,
            principal=principal,
            now=self.clock(),
            comment=comment,
            expected_epoch=epoch,
            values_hash=values_hash(values, _status_names(layout)),
            approvals_required=layout.approvals_required if layout else 1,
            lease_ttl=self.ctx.settings.locks.lease_ttl_seconds,
            record=record.room,
        )
        result = await self.store.apply(record, lambda state: machine.decide(state, request))
        self.remember(record, result.state)
        if result.entry is not None:
            await self._after(record, room, layout, result, principal)
        return result

    async def _after(
        self, record: RecordKey, room: Any, layout: LayoutSettings | None, result: Transition, actor: Principal
    ) -> None:
        entry, state = result.entry, result.state
        assert entry is not None
        if room is not None:
            self.broadcast(room, state)
            if layout is not None and entry.action in ("submit", "approve", "reject", "withdraw", "reopen"):
                await self._write_status(room, layout, state, actor)
        kind = "lock.changed" if entry.action in ("lease", "release", "expire") else "approval.changed"
        described = describe_state(record, state, HUB, self.clock(), self._required(record))
        # Events go to many readers: keep the record's state, drop what only fits one caller.
        payload = {k: v for k, v in described.items() if not k.startswith("can_") and k not in _PER_CALLER}
        payload.update(action=entry.action, comment=entry.comment, audit_seq=entry.seq)
        try:
            await self.ctx.events.emit(kind, record, payload, actor=actor.sub)
        except Exception:
            log.exception("could not record the %s event for %s", kind, record.room)

    async def _write_status(self, room: Any, layout: LayoutSettings, state: LockState, actor: Principal) -> None:
        names = layout.status_fields
        values: dict[str, Any] = {}
        if names.state:
            values[names.state] = state.state.capitalize()
        approved = state.state == "approved"
        if names.approved_by:
            values[names.approved_by] = ", ".join(state.approver_names) if approved else ""
        if names.approved_at:
            stamp = datetime.fromtimestamp(state.decided_at, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            values[names.approved_at] = stamp if approved else ""
        if not values:
            return
        try:
            await room.edit(
                lambda doc: apply_values(doc, layout, values), Origin(OriginKind.SERVER, ident=actor.sub, user=actor.sub)
            )
        except Exception:
            # The transition is committed and audited; the status fields catch up on the next one.
            log.exception("could not write the approval state of %s into its status fields", room.record.room)

    def broadcast(self, room: Any, state: LockState) -> None:
        """AccessState, as each opt-in connection of ``room`` sees ``state``."""
        now, required = self.clock(), self._required(room.record)
        for conn in list(room.connections):
            if conn.control:
                room.send_control(access_state(state, conn.principal, now, required), to=conn.id)

    # -- room observer ---------------------------------------------------------------------

    async def room_loaded(self, room: Any) -> None:
        self._cache[room.record] = await self.store.get(room.record)

    def room_unloading(self, room: Any) -> None:
        if not self.leases.pending(room.record):
            self._cache.pop(room.record, None)

    def connection_joined(self, room: Any, conn: Any) -> None:
        state = self.state_of(room.record)
        if conn.control:
            room.send_control(access_state(state, conn.principal, self.clock(), self._required(room.record)), to=conn.id)
        self.leases.joined(room, conn)

    def connection_left(self, room: Any, conn: Any) -> None:
        self.leases.left(room, conn)

    # -- helpers ---------------------------------------------------------------------------

    def _layout(self, record: RecordKey, room: Any) -> LayoutSettings | None:
        if room is not None and getattr(room, "layout", None) is not None:
            layout: LayoutSettings = room.layout
            return layout
        return self.ctx.settings.layout(record.database, record.layout)

    def _required(self, record: RecordKey) -> int:
        layout = self.ctx.settings.layout(record.database, record.layout)
        return layout.approvals_required if layout else 1


def _status_names(layout: LayoutSettings | None) -> tuple[str, ...]:
    if layout is None:
        return ()
    names = layout.status_fields
    return tuple(name for name in (names.state, names.approved_by, names.approved_at) if name)
