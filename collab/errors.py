"""Errors and wire codes, in one place.

Exception tree::

    CollabError
    ├── SettingsError          a setting is missing or wrong (start-up refuses to run)
    ├── StoreError             the durable store failed; nothing was acknowledged
    ├── ProtocolError          a client sent a frame we cannot accept (close 1008)
    │   └── MessageTooBig      larger than limits.max_message_bytes (close 1009)
    ├── AccessDenied           token missing/invalid/out of scope, or role not allowed
    └── Conflict               the request is valid but the record's state forbids it

FileMaker errors live in ``collab.filemaker.errors``.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "AccessDenied",
    "CloseCode",
    "CollabError",
    "Conflict",
    "MessageTooBig",
    "ProtocolError",
    "SettingsError",
    "StoreError",
]


class CloseCode(IntEnum):
    """WebSocket close codes the hub sends. 4000-4499: do not reconnect unchanged."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY = 1008  # malformed frame, rate limit, bad origin
    TOO_BIG = 1009
    INTERNAL = 1011
    RESTART = 1012  # hub shutting down; reconnect
    TRY_AGAIN = 1013  # client too slow or hub overloaded; reconnect later
    RESET = 4205  # drop your local document and sync again from the hub
    UNAUTHORIZED = 4401  # token missing, invalid or expired
    FORBIDDEN = 4403  # token valid but not for this record
    NOT_FOUND = 4404  # no such record or layout
    READ_ONLY = 4423  # plain client wrote to a locked record; resync (it will be reset)


class CollabError(Exception):
    """Base of every error collab raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SettingsError(CollabError):
    """A setting is missing or invalid; the message says which and what to set."""


class StoreError(CollabError):
    """The durable store could not commit or read."""


class ProtocolError(CollabError):
    """A client frame violates the protocol; the connection is closed with 1008."""

    close_code: int = CloseCode.POLICY


class MessageTooBig(ProtocolError):
    close_code = CloseCode.TOO_BIG


class AccessDenied(CollabError):
    """The caller may not do this. ``status`` is 401 (who are you) or 403 (not you)."""

    def __init__(self, detail: str, *, status: int = 403, code: str = "forbidden") -> None:
        super().__init__(detail)
        self.status = status
        self.code = code


class Conflict(CollabError):
    """The record's current state forbids the action (HTTP 409) with a stable ``code``."""

    def __init__(self, detail: str, *, code: str, status: int = 409) -> None:
        super().__init__(detail)
        self.code = code
        self.status = status
