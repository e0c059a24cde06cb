"""Lock and approval HTTP API for scripts (Insert From URL): flat JSON, problem-detail errors.

Every route authenticates (``require_principal``), checks the token's record scope and a role;
the state machine then decides (``not_allowed``, ``wrong_state``, ``own_submission``,
``comment_required``, ``leased``, ``not_leased``, ``stale_epoch``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, delete, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from collab.auth.http import require_principal, require_record, require_role
from collab.auth.principal import Principal
from collab.errors import AccessDenied, CloseCode, CollabError, Conflict
from collab.locks.machine import Action
from collab.locks.service import LockService
from collab.records import RecordKey

__all__ = ["ROUTES"]

_BASE = "/api/records/{database:str}/{layout:str}/{key:str}"
_ANY_ROLE = ("viewer", "editor", "approver")
_APPROVAL_ACTIONS: dict[str, Action] = {
    "submit": "submit",
    "approve": "approve",
    "reject": "reject",
    "withdraw": "withdraw",
    "reopen": "reopen",
}


class ActionBody(msgspec.Struct, frozen=True, kw_only=True):
    comment: str = ""
    expected_epoch: int | None = None


def _service(request: Request[Any, Any, Any]) -> LockService:
    service: LockService = request.app.state.ctx.locks
    return service


def _target(request: Request[Any, Any, Any], database: str, layout: str, key: str) -> tuple[RecordKey, Principal]:
    principal = require_principal(request)
    try:
        record = RecordKey.from_parts(database, layout, key)
    except ValueError as exc:
        raise CollabError(str(exc)) from None
    require_record(principal, record)
    if request.app.state.ctx.settings.layout(database, layout) is None:
        raise NotFoundException(f"the hub is not configured for the layout {database}/{layout}")
    return record, principal


async def _act(
    request: Request[Any, Any, Any], record: RecordKey, principal: Principal, action: Action, body: ActionBody
) -> dict[str, Any]:
    try:
        return await _service(request).act(
            record, principal, action, comment=body.comment, expected_epoch=body.expected_epoch
        )
    except (AccessDenied, Conflict):
        raise
    except CollabError as exc:
        # The record's room could not be opened (the hub's RoomUnavailable carries a close code).
        if getattr(exc, "close_code", None) == CloseCode.NOT_FOUND:
            raise NotFoundException(exc.detail) from None
        if getattr(exc, "close_code", None) is not None:
            raise Conflict(exc.detail, code="record_unavailable", status=503) from None
        raise


async def _body(request: Request[Any, Any, Any]) -> ActionBody:
    raw = await request.body()
    query = request.query_params
    try:
        body = msgspec.json.decode(raw, type=ActionBody) if raw.strip() else ActionBody()
    except msgspec.DecodeError as exc:
        raise CollabError(f"the body must be JSON like {{\"comment\": \"...\", \"expected_epoch\": 3}}: {exc}") from None
    epoch = body.expected_epoch
    if epoch is None and query.get("expected_epoch"):
        try:
            epoch = int(query["expected_epoch"])
        except ValueError:
            raise CollabError("expected_epoch must be a whole number") from None
    return ActionBody(comment=body.comment or query.get("comment", ""), expected_epoch=epoch)


@get(_BASE + "/lock", summary="Lock and approval state, and what the caller may do")
async def lock_state(request: Request[Any, Any, Any], database: FromPath[str], layout: FromPath[str], key: FromPath[str]) -> dict[str, Any]:
    record, principal = _target(request, database, layout, key)
    require_role(principal, *_ANY_ROLE)
    return _service(request).describe(record, principal)


@post(_BASE + "/approval/{action:str}", status_code=200, summary="submit, approve, reject, withdraw or reopen")
async def approval_action(
    request: Request[Any, Any, Any], database: FromPath[str], layout: FromPath[str], key: FromPath[str], action: FromPath[str]
) -> dict[str, Any]:
    record, principal = _target(request, database, layout, key)
    if action not in _APPROVAL_ACTIONS:
        raise NotFoundException(f"no approval action {action!r}: use {', '.join(_APPROVAL_ACTIONS)}")
    return await _act(request, record, principal, _APPROVAL_ACTIONS[action], await _body(request))


@post(_BASE + "/lease", status_code=200, summary="Take (or renew) the edit lease")
async def take_lease(request: Request[Any, Any, Any], database: FromPath[str], layout: FromPath[str], key: FromPath[str]) -> dict[str, Any]:
    record, principal = _target(request, database, layout, key)
    return await _act(request, record, principal, "lease", await _body(request))


@delete(_BASE + "/lease", status_code=200, summary="Release the edit lease")
async def release_lease(request: Request[Any, Any, Any], database: FromPath[str], layout: FromPath[str], key: FromPath[str]) -> dict[str, Any]:
    record, principal = _target(request, database, layout, key)
    return await _act(request, record, principal, "release", await _body(request))


@get(_BASE + "/audit", summary="The record's audit trail and whether its hash chain verifies")
async def audit_trail(request: Request[Any, Any, Any], database: FromPath[str], layout: FromPath[str], key: FromPath[str]) -> dict[str, Any]:
    record, principal = _target(request, database, layout, key)
    require_role(principal, "editor", "approver")
    return await _service(request).audit(record)


@get("/api/approvals", summary="Records in an approval state (default: submitted), for dashboards")
async def approvals(request: Request[Any, Any, Any]) -> dict[str, Any]:
    principal = require_principal(request)
    state = request.query_params.get("state", "submitted")  # ("state" is a reserved Litestar kwarg)
    require_role(principal, *_ANY_ROLE)
    if state not in ("submitted", "approved", "rejected", "open", "all"):
        raise CollabError("state must be submitted, approved, rejected, open or all")
    records = await _service(request).waiting(principal, "" if state == "all" else state)
    return {"state": state, "count": len(records), "records": records}


ROUTES = [lock_state, approval_action, take_lease, release_lease, audit_trail, approvals]
