"""Web-viewer tokens: HS256 JWTs signed with ``server.secret``.

Claims: ``sub`` (user id), ``name``, ``roles`` (viewer/editor/approver/admin), ``records``
(patterns over ``database/layout/key``) and ``exp`` (required). A FileMaker calculation can
sign the same token itself with CryptAuthCode (docs/filemaker.md), so the format stays the
plain compact JWS: no ``kid``, no extra header fields are required.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable
from typing import Any

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from collab.auth.principal import ROLES, Principal
from collab.errors import AccessDenied

__all__ = ["ALGORITHM", "LEEWAY_SECONDS", "mint_token", "token_expired", "verify_token"]

ALGORITHM = "HS256"
#: Clock skew tolerated between FileMaker Server (which may sign tokens) and the hub.
LEEWAY_SECONDS = 5


def mint_token(
    secret: str,
    *,
    sub: str,
    name: str = "",
    roles: Iterable[str] = ("editor",),
    records: Iterable[str] = (),
    ttl_seconds: int = 3600,
    now: float | None = None,
) -> str:
    """A signed token for ``sub``. Raises ValueError for unknown roles or a bad TTL."""
    if not secret:
        raise ValueError("cannot sign tokens: server.secret (COLLAB_SECRET) is empty")
    if not sub:
        raise ValueError("a token needs a user id (sub)")
    role_list = sorted(set(roles))
    unknown = [role for role in role_list if role not in ROLES]
    if unknown:
        raise ValueError(f"unknown roles {unknown}: use {', '.join(ROLES)}")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "sub": sub,
        "name": name,
        "roles": role_list,
        "records": list(records),
        "iat": issued,
        "exp": issued + int(ttl_seconds),
    }
    with warnings.catch_warnings():
        # The minimum secret length is ours to set (settings: 16+); PyJWT wants 32.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str) -> Principal:
    """The principal a valid token names.

    Raises:
        AccessDenied: status 401, code ``token_expired`` or ``token_invalid``; the detail never
            contains the token itself.
    """
    if not secret:
        raise AccessDenied("the hub has no secret configured, so it accepts no tokens", status=401, code="token_invalid")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sub"]},
                leeway=LEEWAY_SECONDS,
            )
    except jwt.ExpiredSignatureError:
        raise token_expired() from None
    except jwt.InvalidTokenError as exc:
        raise AccessDenied(f"the token is not valid ({_reason(exc)})", status=401, code="token_invalid") from None
    return _principal(claims)


def token_expired() -> AccessDenied:
    return AccessDenied("the token has expired: get a new one", status=401, code="token_expired")


def _reason(exc: jwt.InvalidTokenError) -> str:
    if isinstance(exc, jwt.InvalidSignatureError):
        return "bad signature: signed with another secret or altered"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"missing claim {exc.claim!r}"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return "only HS256 is accepted"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "not valid yet"
    return "malformed"


def _principal(claims: dict[str, Any]) -> Principal:
    sub, name = claims.get("sub"), claims.get("name", "")
    roles, records = claims.get("roles", []), claims.get("records", [])
    if not isinstance(sub, str) or not sub or not isinstance(name, str):
        raise AccessDenied("the token is not valid (sub and name must be text)", status=401, code="token_invalid")
    if isinstance(roles, str):  # a hand-written FileMaker token may carry one role as text
        roles = [roles]
    if isinstance(records, str):
        records = [records]
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise AccessDenied("the token is not valid (roles must be a list)", status=401, code="token_invalid")
    if not isinstance(records, list) or not all(isinstance(item, str) for item in records):
        raise AccessDenied("the token is not valid (records must be a list)", status=401, code="token_invalid")
    return Principal(
        sub=sub,
        name=name,
        # Unknown role names grant nothing; they are dropped rather than refused so a
        # newer minting script does not lock people out of an older hub.
        roles=frozenset(role for role in roles if role in ROLES),
        records=tuple(records),
        exp=int(claims["exp"]),
    )
