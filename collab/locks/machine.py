"""The approval workflow and edit leases as pure functions: no I/O, no clock of their own.

Approval: open -> submitted -> approved, or submitted -> rejected -> open. The submitter (or
an admin) may withdraw (submitted -> open); an admin may reopen an approved record; any
editor may reopen a rejected one. ``approvals_required`` distinct approvers, never the
submitter. A rejection needs a comment.

Lease: one user holds a writable record (open or rejected) exclusively until it expires.
Taking it again while holding it renews it (no new epoch). Submitting clears it.

Every grant or transition bumps the fencing epoch and yields one audit entry; a request that
carries ``expected_epoch`` different from the current one is refused as stale.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from collab.auth.principal import Principal
from collab.errors import AccessDenied, Conflict
from collab.locks.state import ApprovalState, AuditEntry, LockState

__all__ = ["ACTIONS", "Action", "Request", "Transition", "allowed_actions", "decide", "write_denied"]

Action = Literal["submit", "approve", "reject", "withdraw", "reopen", "lease", "release", "renew", "expire"]
#: What a caller can ask for (``renew`` and ``expire`` are the hub's own).
ACTIONS: tuple[Action, ...] = ("submit", "approve", "reject", "withdraw", "reopen", "lease", "release")

#: Which role lets a principal ask for an action (admin may do everything).
_ROLE: dict[str, tuple[str, ...]] = {
    "submit": ("editor",),
    "withdraw": ("editor",),
    "reopen": ("editor",),
    "approve": ("approver",),
    "reject": ("approver",),
    "lease": ("editor",),
    "release": ("editor",),
    "renew": ("editor",),
    "expire": (),
}
_WRITABLE: tuple[ApprovalState, ...] = ("open", "rejected")


class Request(msgspec.Struct, frozen=True, kw_only=True):
    action: Action
    principal: Principal
    now: float
    comment: str = ""
    expected_epoch: int | None = None
    values_hash: str = ""
    approvals_required: int = 1
    lease_ttl: float = 120.0
    record: str = ""


class Transition(msgspec.Struct, frozen=True, kw_only=True):
    state: LockState
    #: The sealed audit entry (chained to ``state.head``), or None for a renewal.
    entry: AuditEntry | None = None


def _role(principal: Principal, action: Action) -> str:
    if action == "expire":
        return "system"
    for role in _ROLE[action]:
        if role in principal.roles:
            return role
    if "admin" in principal.roles:
        return "admin"
    raise AccessDenied(f"{principal.display} may not {action}: needs the {' or '.join(_ROLE[action])} role", code="not_allowed")


def _wrong_state(action: str, state: ApprovalState) -> Conflict:
    return Conflict(f"cannot {action} a record that is {state}", code="wrong_state")


def decide(state: LockState, req: Request) -> Transition:
    """The state after ``req``, or AccessDenied (403 ``not_allowed``) / Conflict (409) saying why not."""
    who, now = req.principal, req.now
    role = _role(who, req.action)
    if req.expected_epoch is not None and req.expected_epoch != state.epoch:
        raise Conflict(
            f"the record is at epoch {state.epoch}, not {req.expected_epoch}: reload its state and retry",
            code="stale_epoch",
        )
    holder = state.holder(now)
    new: LockState
    match req.action:
        case "submit":
            if state.state != "open":
                raise _wrong_state("submit", state.state)
            if holder and holder != who.sub:
                raise Conflict(f"{state.lease_holder_name or holder} holds the edit lease", code="leased")
            new = msgspec.structs.replace(
                state, state="submitted", since=now, submitted_by=who.sub, submitted_by_name=who.display,
                submitted_at=now, approvals=(), approver_names=(), decided_by="", decided_at=0.0, comment=req.comment,
                lease_holder="", lease_holder_name="", lease_since=0.0, lease_expires_at=0.0,
            )
        case "approve" | "reject":
            if state.state != "submitted":
                raise _wrong_state(req.action, state.state)
            if req.action == "reject":
                if not req.comment.strip():
                    raise Conflict("a rejection needs a comment saying what to fix", code="comment_required")
                new = msgspec.structs.replace(
                    state, state="rejected", since=now, approvals=(), approver_names=(), decided_by=who.sub, decided_at=now,
                    comment=req.comment,
                )
            else:
                if who.sub == state.submitted_by:
                    raise Conflict("nobody approves their own submission", code="own_submission")
                if who.sub in state.approvals:
                    raise Conflict(f"{who.display} has already approved this submission", code="already_approved")
                approvals = (*state.approvals, who.sub)
                done = len(approvals) >= req.approvals_required
                new = msgspec.structs.replace(
                    state, approvals=approvals, approver_names=(*state.approver_names, who.display), state="approved" if done else "submitted",
                    since=now if done else state.since, decided_by=who.sub if done else "",
                    decided_at=now if done else 0.0, comment=req.comment,
                )
        case "withdraw":
            if state.state != "submitted":
                raise _wrong_state("withdraw", state.state)
            if who.sub != state.submitted_by and "admin" not in who.roles:
                raise AccessDenied("only the submitter (or an admin) may withdraw a submission", code="not_allowed")
            new = msgspec.structs.replace(
                state, state="open", since=now, approvals=(), approver_names=(), comment=req.comment
            )
        case "reopen":
            if state.state not in ("rejected", "approved"):
                raise _wrong_state("reopen", state.state)
            if state.state == "approved" and "admin" not in who.roles:
                raise AccessDenied("only an admin may reopen an approved record", code="not_allowed")
            new = msgspec.structs.replace(
                state, state="open", since=now, approvals=(), approver_names=(), decided_by="", decided_at=0.0,
                comment=req.comment,
            )
        case "lease" | "renew":
            if state.state not in _WRITABLE:
                raise _wrong_state("lease", state.state)
            if holder and holder != who.sub:
                raise Conflict(f"{state.lease_holder_name or holder} holds the edit lease", code="leased")
            expires = now + req.lease_ttl
            if holder == who.sub:  # renewal: same grant, same epoch, no audit entry
                return Transition(state=msgspec.structs.replace(state, lease_expires_at=expires))
            if req.action == "renew":
                raise Conflict("the lease has expired or passed to someone else", code="not_leased")
            new = msgspec.structs.replace(
                state, lease_holder=who.sub, lease_holder_name=who.display, lease_since=now, lease_expires_at=expires
            )
        case "release" | "expire":
            if not holder:
                raise Conflict("nobody holds the edit lease", code="not_leased")
            if req.action == "release" and holder != who.sub and "admin" not in who.roles:
                raise AccessDenied(f"only {state.lease_holder_name or holder} (or an admin) may release the lease", code="not_allowed")
            new = msgspec.structs.replace(
                state, lease_holder="", lease_holder_name="", lease_since=0.0, lease_expires_at=0.0
            )
    new = msgspec.structs.replace(new, epoch=state.epoch + 1)
    entry = AuditEntry(
        record=req.record, seq=state.seq + 1, at=now, actor=who.sub, actor_name=who.display, role=role,
        action=req.action, from_state=state.state, to_state=new.state, comment=req.comment, epoch=new.epoch,
        values_hash=req.values_hash, prev=state.head,
    ).sealed()
    return Transition(state=msgspec.structs.replace(new, head=entry.hash, seq=entry.seq), entry=entry)


def write_denied(state: LockState, principal: Principal, now: float) -> str | None:
    """Why this principal may not change the record's content now (None: it may)."""
    if not principal.has_role("editor"):
        return "role"
    if state.state in ("submitted", "approved"):
        return state.state
    holder = state.holder(now)
    if holder and holder != principal.sub:
        return "leased"
    return None


def allowed_actions(state: LockState, principal: Principal, now: float, approvals_required: int = 1) -> list[str]:
    """The actions ``decide`` would accept from this principal now (a rejection with a comment)."""
    allowed: list[str] = []
    for action in ACTIONS:
        probe = Request(
            action=action, principal=principal, now=now, comment="probe", approvals_required=approvals_required
        )
        try:
            result = decide(state, probe)
        except (AccessDenied, Conflict):
            continue
        if action == "lease" and result.entry is None:
            allowed.append("renew")
        else:
            allowed.append(action)
    return allowed
