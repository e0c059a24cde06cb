"""``POST /api/tokens``: a FileMaker script (Insert From URL, ``X-API-Key``) gets a web-viewer token."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Request, post

from collab.auth.http import api_key_valid
from collab.auth.tokens import mint_token
from collab.context import HubContext
from collab.errors import AccessDenied, CollabError

__all__ = ["TokenRequest", "mint_tokens", "webviewer_url"]


class TokenRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    user: str
    name: str = ""
    roles: list[str] = msgspec.field(default_factory=lambda: ["editor"])
    records: list[str] = msgspec.field(default_factory=list)
    ttl_seconds: int | None = None
    #: Which record the returned ``webviewer_url`` opens (default: the only exact record, if any).
    record: str = ""


def webviewer_url(base: str, token: str, records: list[str], record: str = "") -> str:
    """The web viewer for ``record`` (or the one exact record), else the approvals dashboard."""
    target = record or (records[0] if len(records) == 1 and "*" not in records[0] else "")
    if target:
        return f"{base}/webviewer/?record={quote(target, safe='/')}&token={token}"
    return f"{base}/webviewer/approvals?token={token}"


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@post("/api/tokens", status_code=201, summary="Mint a web-viewer token (X-API-Key)")
async def mint_tokens(request: Request[Any, Any, Any]) -> dict[str, Any]:
    ctx: HubContext = request.app.state.ctx
    # Credentials before the body: an anonymous caller learns nothing about the body format.
    if not api_key_valid(ctx, request.headers.get("x-api-key")):
        raise AccessDenied(
            "POST /api/tokens needs the header X-API-Key: <COLLAB_API_KEY>", status=401, code="api_key_invalid"
        )
    try:
        body = msgspec.json.decode(await request.body() or b"{}", type=TokenRequest)
    except msgspec.DecodeError as exc:
        raise CollabError(f"the body must be JSON with user, name, roles, records, ttl_seconds: {exc}") from None
    limits = ctx.settings.locks
    ttl = body.ttl_seconds or limits.token_ttl_seconds
    ttl = max(1, min(ttl, limits.max_token_ttl_seconds))
    records = body.records or []
    now = time.time()
    try:
        token = mint_token(
            ctx.settings.server.secret,
            sub=body.user,
            name=body.name,
            roles=body.roles,
            records=records,
            ttl_seconds=ttl,
            now=now,
        )
    except ValueError as exc:
        raise CollabError(str(exc)) from None
    return {
        "token": token,
        "user": body.user,
        "expires_at": _iso(int(now) + ttl),
        "expires_in": ttl,
        "webviewer_url": webviewer_url(ctx.settings.base_url, token, records, body.record),
    }
