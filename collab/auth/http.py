"""Who is calling an HTTP route, and may they do this.

Credentials, in order: ``X-API-Key`` (FileMaker scripts calling the hub: acts as admin on
every record), ``Authorization: Bearer <token>``, or the ``token`` query parameter (for
EventSource and web-viewer URLs, which cannot set headers). Every route handler calls
:func:`require_principal` and then :func:`require_role` / :func:`require_record`.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request

from collab.auth.principal import Principal
from collab.context import HubContext
from collab.errors import AccessDenied
from collab.records import RecordKey

__all__ = ["API_KEY_PRINCIPAL", "api_key_valid", "require_principal", "require_record", "require_role"]

#: What a caller presenting the right ``X-API-Key`` is: a script trusted with everything.
API_KEY_PRINCIPAL = Principal(sub="api-key", name="FileMaker script", roles=frozenset({"admin"}), records=("*",))


def _ctx(request: Request[Any, Any, Any]) -> HubContext:
    ctx: HubContext = request.app.state.ctx
    return ctx


def api_key_valid(ctx: HubContext, presented: str | None) -> bool:
    """Constant-time comparison; an unset ``server.api_key`` accepts nothing."""
    expected = ctx.settings.server.api_key
    if not expected or not presented:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AccessDenied("Authorization must be 'Bearer <token>'", status=401, code="token_invalid")
        return value.strip()
    token = request.query_params.get("token")
    return token or None


def require_principal(request: Request[Any, Any, Any]) -> Principal:
    """The caller, or AccessDenied (401) when no valid credentials came with the request."""
    ctx = _ctx(request)
    presented = request.headers.get("x-api-key")
    if presented is not None:
        if api_key_valid(ctx, presented):
            return API_KEY_PRINCIPAL
        raise AccessDenied("X-API-Key is not the hub's COLLAB_API_KEY", status=401, code="api_key_invalid")
    if ctx.auth is None:
        raise AccessDenied("authentication is not configured on this hub", status=401, code="token_invalid")
    return ctx.auth.authenticate(bearer_token(request))


def require_role(principal: Principal, *roles: str) -> Principal:
    """AccessDenied (403, ``not_allowed``) unless the principal has one of ``roles`` (admin always does)."""
    if not principal.has_role(*roles):
        wanted = " or ".join(roles)
        raise AccessDenied(f"{principal.display} needs the {wanted} role for this", code="not_allowed")
    return principal


def require_record(principal: Principal, record: RecordKey) -> Principal:
    """AccessDenied (403, ``out_of_scope``) unless the token's ``records`` cover this record."""
    if not principal.may_open(record):
        raise AccessDenied(f"this token does not cover the record {record.room}", code="out_of_scope")
    return principal
