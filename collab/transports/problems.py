"""HTTP errors as RFC 9457 problem details with a stable ``code`` a FileMaker script can test."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from collab.errors import AccessDenied, CollabError, Conflict, StoreError

__all__ = ["exception_handlers", "problem"]

log = logging.getLogger("collab.http")


def problem(status: int, code: str, detail: str, **extra: Any) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"https://collab.invalid/problems/{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    return Response(body, status_code=status, media_type="application/problem+json")


def _collab(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if isinstance(exc, AccessDenied):
        return problem(exc.status, exc.code, exc.detail)
    if isinstance(exc, Conflict):
        return problem(exc.status, exc.code, exc.detail)
    if isinstance(exc, StoreError):
        log.error("store error: %s", exc.detail)
        return problem(503, "store_unavailable", "the hub could not commit this change; nothing was changed")
    assert isinstance(exc, CollabError)
    return problem(400, "bad_request", exc.detail)


def _http(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    code = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        429: "rate_limited",
    }.get(status, "error")
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and exc.extra:
        extra["errors"] = exc.extra
    return problem(status, code, str(exc.detail), **extra)


def _unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unexpected error", exc_info=exc)
    return problem(500, "internal_error", "the hub hit an unexpected error; see its log")


def exception_handlers() -> dict[type[Exception] | int, Any]:
    return {CollabError: _collab, HTTPException: _http, Exception: _unexpected}
