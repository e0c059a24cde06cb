"""The pure approval and lease machine: every edge, every refusal, and its audit entries."""

from __future__ import annotations

from typing import Any

import pytest

from collab.auth.principal import Principal
from collab.errors import AccessDenied, Conflict
from collab.locks.audit import verify_chain
from collab.locks.machine import Request, allowed_actions, decide, write_denied
from collab.locks.state import AuditEntry, LockState

EDITOR = Principal(sub="ed", name="Ed", roles=frozenset({"editor"}), records=("*",))
EDITOR2 = Principal(sub="eve", name="Eve", roles=frozenset({"editor"}), records=("*",))
APPROVER = Principal(sub="ann", name="Ann", roles=frozenset({"approver"}), records=("*",))
APPROVER2 = Principal(sub="abe", name="Abe", roles=frozenset({"approver"}), records=("*",))
BOTH = Principal(sub="bo", name="Bo", roles=frozenset({"editor", "approver"}), records=("*",))
ADMIN = Principal(sub="root", name="Root", roles=frozenset({"admin"}), records=("*",))
VIEWER = Principal(sub="vi", name="Vi", roles=frozenset({"viewer"}), records=("*",))


class Run:
    """A record's history: applies requests and keeps the audit entries."""

    def __init__(self, required: int = 1) -> None:
        self.state = LockState()
        self.entries: list[AuditEntry] = []
        self.required = required
        self.now = 1000.0

    def do(self, action: Any, who: Principal, **extra: Any) -> LockState:
        self.now += 1
        req = Request(action=action, principal=who, now=self.now, approvals_required=self.required,
                      lease_ttl=60, record="Sales/Invoices/K", **extra)
        result = decide(self.state, req)
        assert result.state.epoch >= self.state.epoch
        self.state = result.state
        if result.entry is not None:
            self.entries.append(result.entry)
        return self.state

    def refused(self, action: Any, who: Principal, code: str, **extra: Any) -> None:
        before = self.state
        with pytest.raises((AccessDenied, Conflict)) as info:
            self.do(action, who, **extra)
        assert getattr(info.value, "code", "") == code
        assert self.state == before


def test_submit_approve_path_with_audit() -> None:
    run = Run()
    run.do("submit", EDITOR)
    assert run.state.state == "submitted" and run.state.submitted_by == "ed"
    run.do("approve", APPROVER, comment="looks right")
    assert run.state.state == "approved" and run.state.approvals == ("ann",)
    assert [e.action for e in run.entries] == ["submit", "approve"]
    assert [e.epoch for e in run.entries] == [1, 2]
    assert run.entries[1].role == "approver" and run.entries[1].comment == "looks right"
    assert verify_chain(run.entries) == (True, "")


def test_reject_needs_comment_then_reopen() -> None:
    run = Run()
    run.do("submit", EDITOR)
    run.refused("reject", APPROVER, "comment_required", comment="  ")
    run.do("reject", APPROVER, comment="wrong amount")
    assert run.state.state == "rejected" and run.state.comment == "wrong amount"
    run.refused("submit", EDITOR, "wrong_state")
    run.do("reopen", EDITOR2)
    assert run.state.state == "open"
    run.do("submit", EDITOR2)
    assert run.state.state == "submitted"


def test_own_submission_and_distinct_approvers() -> None:
    run = Run(required=2)
    run.do("submit", BOTH)
    run.refused("approve", BOTH, "own_submission")
    run.do("approve", APPROVER)
    assert run.state.state == "submitted"
    run.refused("approve", APPROVER, "already_approved")
    run.do("approve", APPROVER2)
    assert run.state.state == "approved" and run.state.approver_names == ("Ann", "Abe")


def test_withdraw_only_by_submitter_or_admin() -> None:
    run = Run()
    run.do("submit", EDITOR)
    run.refused("withdraw", EDITOR2, "not_allowed")
    run.refused("withdraw", APPROVER, "not_allowed")
    run.do("withdraw", EDITOR)
    assert run.state.state == "open"
    run.do("submit", EDITOR)
    run.do("withdraw", ADMIN)
    assert run.state.state == "open"


def test_only_admin_reopens_approved() -> None:
    run = Run()
    run.do("submit", EDITOR)
    run.do("approve", APPROVER)
    run.refused("reopen", EDITOR, "not_allowed")
    run.refused("reopen", APPROVER, "not_allowed")
    run.do("reopen", ADMIN)
    assert run.state.state == "open" and run.entries[-1].role == "admin"


def test_roles() -> None:
    run = Run()
    run.refused("submit", VIEWER, "not_allowed")
    run.refused("submit", APPROVER, "not_allowed")
    run.refused("lease", APPROVER, "not_allowed")
    run.do("submit", EDITOR)
    run.refused("approve", EDITOR2, "not_allowed")
    run.refused("approve", VIEWER, "not_allowed")
    run.do("approve", ADMIN)  # admins may do everything (but still not approve their own)
    assert run.state.state == "approved"


def test_wrong_states() -> None:
    run = Run()
    for action in ("approve", "reject", "withdraw", "reopen"):
        run.refused(action, ADMIN, "wrong_state", comment="x")
    run.do("submit", EDITOR)
    run.refused("submit", EDITOR, "wrong_state")
    run.refused("lease", EDITOR, "wrong_state")


def test_stale_epoch_is_refused() -> None:
    run = Run()
    run.do("lease", EDITOR, expected_epoch=0)
    run.refused("release", EDITOR, "stale_epoch", expected_epoch=0)
    run.refused("release", EDITOR, "stale_epoch", expected_epoch=7)
    run.do("release", EDITOR, expected_epoch=1)
    assert run.state.epoch == 2


def test_lease_is_exclusive_renewable_and_expires() -> None:
    run = Run()
    run.do("lease", EDITOR)
    epoch = run.state.epoch
    run.refused("lease", EDITOR2, "leased")
    run.refused("submit", EDITOR2, "leased")
    run.refused("release", EDITOR2, "not_allowed")
    run.do("lease", EDITOR)  # renewal: same epoch, no entry
    assert run.state.epoch == epoch and len(run.entries) == 1
    run.now += 120  # past the TTL
    assert write_denied(run.state, EDITOR2, run.now) is None
    run.do("lease", EDITOR2)
    assert run.state.lease_holder == "eve" and run.state.epoch == epoch + 1
    run.refused("renew", EDITOR, "leased")
    run.do("release", ADMIN)
    run.refused("release", EDITOR2, "not_leased")


def test_submit_clears_the_holders_lease() -> None:
    run = Run()
    run.do("lease", EDITOR)
    run.do("submit", EDITOR)
    assert run.state.holder(run.now) == ""


def test_write_gate() -> None:
    state = LockState()
    assert write_denied(state, EDITOR, 0) is None
    assert write_denied(state, VIEWER, 0) == "role"
    assert write_denied(state, APPROVER, 0) == "role"
    leased = LockState(lease_holder="ed", lease_expires_at=100)
    assert write_denied(leased, EDITOR, 50) is None
    assert write_denied(leased, EDITOR2, 50) == "leased"
    assert write_denied(leased, EDITOR2, 150) is None
    for frozen in ("submitted", "approved"):
        assert write_denied(LockState(state=frozen), ADMIN, 0) == frozen  # type: ignore[arg-type]
    assert write_denied(LockState(state="rejected"), EDITOR, 0) is None


def test_allowed_actions() -> None:
    assert allowed_actions(LockState(), EDITOR, 0) == ["submit", "lease"]
    assert allowed_actions(LockState(), VIEWER, 0) == []
    submitted = LockState(state="submitted", submitted_by="ed")
    assert allowed_actions(submitted, EDITOR, 0) == ["withdraw"]
    assert allowed_actions(submitted, APPROVER, 0) == ["approve", "reject"]
    leased = LockState(lease_holder="ed", lease_expires_at=100)
    assert "renew" in allowed_actions(leased, EDITOR, 0) and "release" in allowed_actions(leased, EDITOR, 0)
    assert allowed_actions(leased, EDITOR2, 0) == []


def test_tampering_breaks_the_chain() -> None:
    import msgspec

    run = Run()
    run.do("submit", EDITOR)
    run.do("reject", APPROVER, comment="no")
    run.do("reopen", EDITOR)
    entries = list(run.entries)
    assert verify_chain(entries)[0]
    forged = msgspec.structs.replace(entries[1], comment="yes")
    assert verify_chain([entries[0], forged, entries[2]]) == (False, "entry 2 was altered (its hash does not match its content)")
    assert not verify_chain([entries[0], entries[2]])[0]
    resealed = forged.sealed()
    assert not verify_chain([entries[0], resealed, entries[2]])[0]  # the next entry's prev no longer matches
