"""The seams between collab's parts, and the context the composition root fills in.

Each part (hub, write-back, locks, events, web viewer, operations) is a *component*: a module
with ``install(ctx) -> Component``. ``collab.app.create_app`` calls them in a fixed order; a
component reads the services installed before it and sets the ones it provides. Nothing else
wires parts together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from collab.auth.principal import Principal
from collab.records import RecordKey
from collab.settings import Settings

if TYPE_CHECKING:
    from collab.bus.base import Bus
    from collab.metrics import Metrics
    from collab.store.sqlite import SqliteDatabase

__all__ = [
    "Authenticator",
    "Component",
    "EventSink",
    "HubContext",
    "NullEvents",
    "WriteGate",
]


class EventSink(Protocol):
    """The durable event log, as the other parts see it."""

    async def emit(
        self,
        type: str,
        record: RecordKey | None,
        payload: Mapping[str, Any],
        *,
        actor: str = "",
    ) -> int:
        """Append an event (committed before it returns); return its sequence number."""
        ...


class NullEvents:
    """Used until the events component replaces it (and in unit tests)."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, RecordKey | None, dict[str, Any], str]] = []

    async def emit(
        self, type: str, record: RecordKey | None, payload: Mapping[str, Any], *, actor: str = ""
    ) -> int:
        self.emitted.append((type, record, dict(payload), actor))
        return len(self.emitted)


class Authenticator(Protocol):
    """Turns a bearer token into a Principal; checks WebSocket Origins."""

    def authenticate(self, token: str | None) -> Principal:
        """Raise ``collab.errors.AccessDenied`` (status 401) when missing, invalid or expired."""
        ...

    def origin_allowed(self, origin: str | None) -> bool:
        """Exact-match allowlist check for a WebSocket handshake's Origin header."""
        ...


class WriteGate(Protocol):
    """May this principal change this record right now? Asked for every inbound update."""

    def write_denied(self, record: RecordKey, principal: Principal) -> str | None:
        """None when allowed, else a short reason code (``submitted``, ``approved``, ``leased``, ``role``)."""
        ...


@dataclass
class Component:
    route_handlers: Sequence[Any] = ()
    #: WebSocket endpoints as plain ASGI apps, by path prefix: the hub hands such connections
    #: to them before Litestar sees them (no middleware or wrapped ``send`` per message).
    sockets: Sequence[tuple[str, Callable[..., Awaitable[None]]]] = ()
    on_startup: Sequence[Callable[[], Awaitable[None]]] = ()
    #: Run in reverse install order on shutdown.
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = ()


@dataclass
class HubContext:
    """Shared services. Filled by components in install order; read by later ones."""

    settings: Settings
    metrics: Metrics
    db: SqliteDatabase | None = None
    bus: Bus | None = None
    events: EventSink = field(default_factory=NullEvents)
    auth: Authenticator | None = None
    gate: WriteGate | None = None
    #: Set by the hub component: ``collab.rooms.registry.RoomRegistry``.
    rooms: Any = None
    #: Set by the FileMaker component: ``collab.filemaker.pool.FileMakerPool``.
    filemaker: Any = None
    #: Set by the write-back component: ``collab.persist.service.WritebackService``.
    writeback: Any = None
    #: Set by the locks component: ``collab.locks.service.LockService``.
    locks: Any = None
    #: Objects implementing ``collab.rooms.hooks.RoomObserver``; the hub calls each in order.
    observers: list[Any] = field(default_factory=list)
    #: Called when the server starts shutting down, before it waits for open connections to
    #: finish: end streams, close sockets with 1012. The lifespan shutdown hooks run after.
    on_drain: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    #: Free-form extras a component wants to expose to later ones (documented where set).
    extras: dict[str, Any] = field(default_factory=dict)
