"""collab control messages, sent in the sync socket to clients that opt in (``?control=1``).

Frame: varUint(MESSAGE_CONTROL) then varUint8Array(JSON payload). The payload is one of the
Structs below, tagged by ``"type"``. Schema evolution: only add fields with defaults; clients
ignore unknown fields and unknown types, and plain y-websocket clients never get these.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "MESSAGE_CONTROL",
    "AccessState",
    "Control",
    "FieldError",
    "Hello",
    "Rejected",
    "Reset",
    "Saved",
    "Stored",
    "Waiting",
    "decode_control",
    "encode_control",
]

#: y-websocket uses 0 (sync), 1 (awareness), 2 (auth), 3 (query awareness).
MESSAGE_CONTROL = 100


class _Msg(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", omit_defaults=True):
    pass


class Hello(_Msg, frozen=True, tag="hello"):
    """First control message after the hub's sync step 1."""

    connection: str
    user: str
    name: str
    can_write: bool
    roles: list[str] = msgspec.field(default_factory=list)


class Stored(_Msg, frozen=True, tag="stored"):
    """The first ``seq`` updates this connection sent are committed to the hub's store."""

    seq: int


class Saved(_Msg, frozen=True, tag="saved"):
    """FileMaker accepted the record's values; ``state_vector`` (base64) is what they contain."""

    mod_id: str
    state_vector: str = ""
    fields: list[str] = msgspec.field(default_factory=list)
    at: str = ""


class Waiting(_Msg, frozen=True, tag="waiting"):
    """Write-back is held up: ``record_in_use`` (301), ``filemaker_unreachable``, ``validation``."""

    reason: str
    detail: str = ""
    retry_in_ms: int = 0


class FieldError(_Msg, frozen=True, tag="field_error"):
    """FileMaker refused a field's value (validation 500-511); the document keeps it."""

    field: str
    code: str
    message: str


class AccessState(_Msg, frozen=True, tag="access"):
    """Lock and approval state of the record, and whether this connection may write."""

    state: Literal["open", "submitted", "approved", "rejected"] = "open"
    epoch: int = 0
    can_write: bool = True
    reason: str = ""
    lease_holder: str = ""
    lease_holder_name: str = ""
    lease_expires_at: str = ""
    submitted_by: str = ""
    approvals: list[str] = msgspec.field(default_factory=list)
    approvals_required: int = 1
    actions: list[str] = msgspec.field(default_factory=list)


class Rejected(_Msg, frozen=True, tag="rejected"):
    """An update from this connection was not applied (read-only, locked, malformed)."""

    reason: str
    detail: str = ""


class Reset(_Msg, frozen=True, tag="reset"):
    """Drop the local document and sync again; re-apply your own unsynced edits as field changes."""

    reason: str
    detail: str = ""


Control = Hello | Stored | Saved | Waiting | FieldError | AccessState | Rejected | Reset

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Control)


def encode_control(message: Control) -> bytes:
    """The JSON payload (without the y-websocket framing)."""
    return _encoder.encode(message)


def decode_control(payload: bytes) -> Control:
    return _decoder.decode(payload)
