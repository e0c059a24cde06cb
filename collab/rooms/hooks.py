"""What other parts may see of a room, and the hooks the hub calls on them.

The hub (``collab.rooms``) implements :class:`RoomHandle` and calls every
:class:`RoomObserver` in ``ctx.observers``. Write-back, locks and events plug in here;
the hub never imports them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from collab.protocol.control import Control
from collab.protocol.origin import Origin
from collab.records import RecordKey
from collab.settings import LayoutSettings

if TYPE_CHECKING:
    from pycrdt import Doc

    from collab.auth.principal import Principal

__all__ = ["ConnectionInfo", "RoomHandle", "RoomObserver", "RoomRegistryHandle", "SeedInfo"]


class SeedInfo(msgspec.Struct, frozen=True):
    """What FileMaker held when the hub seeded a room (only on the load that seeded it)."""

    record_id: str
    mod_id: str
    #: Field values as they went into the document (document formats: ISO dates, numbers).
    values: dict[str, Any]


class ConnectionInfo(Protocol):
    id: str
    principal: Principal
    #: Opted in to control messages (``?control=1``).
    control: bool


class RoomHandle(Protocol):
    record: RecordKey
    layout: LayoutSettings
    doc: Doc[Any]
    #: Set on the load that seeded the document from FileMaker, else None.
    seeded: SeedInfo | None

    @property
    def connections(self) -> list[ConnectionInfo]: ...

    def values(self) -> dict[str, Any]:
        """Converged field values (``collab.document.read_values``)."""
        ...

    def presence(self) -> list[dict[str, Any]]:
        """Awareness states of connected clients: user, name, field they are in."""
        ...

    async def edit(self, change: Callable[[Doc[Any]], Any], origin: Origin) -> bytes:
        """Run ``change(doc)`` in one transaction; store (if origin says so), relay, notify.

        Returns the update (``b""`` when nothing changed). Raises StoreError if the commit failed
        (then the room is reloaded from the store, so memory never holds unstored state).
        """
        ...

    def send_control(self, message: Control, *, to: str | None = None) -> None:
        """Queue a control message to every opt-in connection, or only connection id ``to``."""
        ...

    def reset_connection(self, connection_id: str, reason: str, detail: str = "") -> None:
        """Tell one connection to drop its local state (control ``reset``, or close 4205 for plain
        clients) and resync from the hub."""
        ...


class RoomRegistryHandle(Protocol):
    def loaded(self, record: RecordKey) -> RoomHandle | None:
        """The room if it is loaded now (no I/O)."""
        ...

    def open(self, record: RecordKey) -> Any:
        """``async with registry.open(record) as room``: load (seed if new) and keep it loaded."""
        ...

    def all_loaded(self) -> list[RoomHandle]: ...


class RoomObserver(Protocol):
    """All hooks are optional; the hub calls the ones an observer defines (``getattr``).

    Sync hooks must not block: schedule work (``asyncio.create_task`` on a bounded queue).
    """

    def room_loaded(self, room: RoomHandle) -> Awaitable[None] | None:
        """After load (and seed) and before any client joins. (A fresh client may already have
        been sent the stored state; what a hook changes here reaches it when it joins.)"""
        ...

    def updates_storing(self, room: RoomHandle, origins: Sequence[Origin]) -> None:
        """Right before an event-loop turn's applied updates are handed to the store
        (synchronous), with their distinct origins. What the observer queues on ``ctx.db`` here
        commits in the same or an earlier group commit."""
        ...

    def updates_stored(self, room: RoomHandle, origins: Sequence[Origin]) -> None:
        """After a turn's updates are committed (or, for peer updates, applied): once per batch,
        with the batch's distinct origins in arrival order. The document already holds them."""
        ...

    def connection_joined(self, room: RoomHandle, connection: ConnectionInfo) -> None:
        """After the connection is authorised and before it gets state (send AccessState here)."""
        ...

    def connection_left(self, room: RoomHandle, connection: ConnectionInfo) -> None: ...

    def presence_changed(self, room: RoomHandle) -> None: ...

    def room_unloading(self, room: RoomHandle) -> Awaitable[None] | None:
        """Before a room unloads (its last client left and the grace period passed)."""
        ...
