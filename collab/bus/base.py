"""The Bus contract: relays bytes between hub processes (and, in-process, between parts).

At-most-once by design: nothing that must survive goes only through the bus; the store is
the authority and a peer that missed messages catches up through it (anti-entropy).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

__all__ = ["Bus"]


class Bus(Protocol):
    #: Unique per process, so a subscriber can drop its own echoes.
    instance_id: str

    async def start(self) -> None:
        """Connect (no-op in process)."""

    async def stop(self) -> None:
        """Disconnect and end every subscription."""

    async def publish(self, topic: str, data: bytes) -> None:
        """Send ``data`` to every current subscriber of ``topic`` (other processes included)."""

    def subscribe(self, topic: str) -> AsyncIterator[tuple[str, bytes]]:
        """Yield ``(sender_instance_id, data)`` for each message on ``topic`` until cancelled."""
        ...
