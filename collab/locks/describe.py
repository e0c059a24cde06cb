"""Lock state as the outside sees it: flat JSON for scripts, AccessState for sockets."""

from __future__ import annotations

from typing import Any

import msgspec

from collab.auth.principal import Principal
from collab.locks import machine
from collab.locks.state import AuditEntry, LockState, iso
from collab.protocol.control import AccessState
from collab.records import RecordKey

__all__ = ["access_state", "describe_state", "entry_json"]


def describe_state(
    record: RecordKey, state: LockState, principal: Principal, now: float, approvals_required: int
) -> dict[str, Any]:
    """One flat object: every value is text, a number, a boolean or a list of text."""
    holder = state.holder(now)
    denied = machine.write_denied(state, principal, now) if principal.may_open(record) else "scope"
    actions = machine.allowed_actions(state, principal, now, approvals_required) if principal.may_open(record) else []
    described: dict[str, Any] = {
        "record": record.room,
        "database": record.database,
        "layout": record.layout,
        "key": record.key,
        "state": state.state,
        "epoch": state.epoch,
        "since": iso(state.since),
        "holder": holder,
        "holder_name": state.lease_holder_name if holder else "",
        "lease": bool(holder),
        "lease_expires_at": iso(state.lease_expires_at) if holder else "",
        "leased_by_me": bool(holder) and holder == principal.sub,
        "submitted_by": state.submitted_by,
        "submitted_by_name": state.submitted_by_name,
        "submitted_at": iso(state.submitted_at),
        "approvals": list(state.approvals),
        "approval_count": len(state.approvals),
        "approvals_required": approvals_required,
        "decided_by": state.decided_by,
        "decided_at": iso(state.decided_at),
        "comment": state.comment,
        "can_edit": denied is None,
        "reason": denied or "",
        "actions": actions,
    }
    for action in machine.ACTIONS:
        described[f"can_{action}"] = action in actions or (action == "lease" and "renew" in actions)
    return described


def access_state(state: LockState, principal: Principal, now: float, approvals_required: int) -> AccessState:
    """The control message an opt-in connection of ``principal`` gets."""
    holder = state.holder(now)
    denied = machine.write_denied(state, principal, now)
    return AccessState(
        state=state.state,
        epoch=state.epoch,
        can_write=denied is None,
        reason=denied or "",
        lease_holder=holder,
        lease_holder_name=state.lease_holder_name if holder else "",
        lease_expires_at=iso(state.lease_expires_at) if holder else "",
        submitted_by=state.submitted_by,
        approvals=list(state.approvals),
        approvals_required=approvals_required,
        actions=machine.allowed_actions(state, principal, now, approvals_required),
    )


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.to_builtins(entry)
    body["at_unix"] = entry.at
    body["at"] = iso(entry.at)
    return body
