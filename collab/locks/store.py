"""Where lock state and the audit trail live: the ``LockStore`` contract and its memory version.

``apply(record, step)`` is the only way to change state: it reads the current state, calls the
pure ``step`` and commits the new state together with its audit entry, atomically. A step
that raises changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from collab.locks.machine import Transition
from collab.locks.state import AuditEntry, LockState
from collab.records import RecordKey

__all__ = ["LockStore", "MemoryLockStore", "Step"]

Step = Callable[[LockState], Transition]


class LockStore(Protocol):
    def peek(self, record: RecordKey) -> LockState:
        """The committed state, synchronously (for the write gate's cache misses)."""
        ...

    async def get(self, record: RecordKey) -> LockState: ...

    async def apply(self, record: RecordKey, step: Step) -> Transition:
        """Run ``step`` on the current state and commit its result and audit entry together."""
        ...

    async def entries(self, record: RecordKey) -> list[AuditEntry]:
        """The record's audit trail, oldest first."""
        ...

    async def states(self, state: str | None = None) -> list[tuple[RecordKey, LockState]]:
        """Records with stored lock state (optionally only those in ``state``)."""
        ...


class MemoryLockStore:
    """For ``store.backend = "memory"`` and unit tests: the same contract, gone on restart."""

    def __init__(self) -> None:
        self._states: dict[RecordKey, LockState] = {}
        self._entries: dict[RecordKey, list[AuditEntry]] = {}

    def peek(self, record: RecordKey) -> LockState:
        return self._states.get(record, LockState())

    async def get(self, record: RecordKey) -> LockState:
        return self.peek(record)

    async def apply(self, record: RecordKey, step: Step) -> Transition:
        current = self.peek(record)
        result = step(current)  # no await between read and write: atomic on the event loop
        if result.state.epoch < current.epoch:
            raise AssertionError("a lock epoch must never go down")
        self._states[record] = result.state
        if result.entry is not None:
            self._entries.setdefault(record, []).append(result.entry)
        return result

    async def entries(self, record: RecordKey) -> list[AuditEntry]:
        return list(self._entries.get(record, []))

    async def states(self, state: str | None = None) -> list[tuple[RecordKey, LockState]]:
        return sorted(
            (record, item) for record, item in self._states.items() if state is None or item.state == state
        )
