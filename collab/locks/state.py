"""A record's lock and approval state, its audit entries, and the hashes that chain them.

Hashes are SHA-256 over canonical JSON (sorted keys, no spaces, UTF-8), so
``collab audit verify`` (or any script) can recompute them from the stored rows alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

__all__ = ["GENESIS", "ApprovalState", "AuditEntry", "LockState", "canonical", "entry_hash", "iso", "values_hash"]

ApprovalState = Literal["open", "submitted", "approved", "rejected"]

#: ``prev`` of a record's first audit entry.
GENESIS = "0" * 64


class LockState(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the hub knows about one record's lock. The store is the authority."""

    state: ApprovalState = "open"
    #: Fencing epoch: +1 on every grant or transition, never down.
    epoch: int = 0
    #: When the approval state last changed (unix seconds).
    since: float = 0.0
    submitted_by: str = ""
    submitted_by_name: str = ""
    submitted_at: float = 0.0
    #: Distinct approvers of the current submission, in order.
    approvals: tuple[str, ...] = ()
    approver_names: tuple[str, ...] = ()
    decided_by: str = ""
    decided_at: float = 0.0
    #: The comment of the last transition that had one (a rejection's reason).
    comment: str = ""
    lease_holder: str = ""
    lease_holder_name: str = ""
    lease_since: float = 0.0
    lease_expires_at: float = 0.0
    #: Hash of the newest audit entry and how many entries there are.
    head: str = GENESIS
    seq: int = 0

    def lease_valid(self, now: float) -> bool:
        return bool(self.lease_holder) and self.lease_expires_at > now

    def holder(self, now: float) -> str:
        """The user holding a valid lease, or ``""``."""
        return self.lease_holder if self.lease_valid(now) else ""


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    record: str
    seq: int
    at: float
    actor: str
    actor_name: str = ""
    #: The role that allowed the action (``system`` for the hub's own lease releases).
    role: str
    action: str
    from_state: str
    to_state: str
    comment: str = ""
    epoch: int
    #: SHA-256 of the record's canonical field values when the action happened.
    values_hash: str
    prev: str
    hash: str = ""

    def sealed(self) -> AuditEntry:
        return msgspec.structs.replace(self, hash=entry_hash(self))


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def values_hash(values: Mapping[str, Any], exclude: tuple[str, ...] = ()) -> str:
    """Hash of the field values; the status fields the hub writes itself are left out."""
    content = {name: value for name, value in values.items() if name not in exclude}
    return hashlib.sha256(canonical(content)).hexdigest()


def entry_hash(entry: AuditEntry) -> str:
    body = msgspec.to_builtins(entry)
    body.pop("hash", None)
    return hashlib.sha256(canonical(body)).hexdigest()


def iso(seconds: float) -> str:
    """ISO 8601 UTC with a Z, or ``""`` for 0 (never happened)."""
    if not seconds:
        return ""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

