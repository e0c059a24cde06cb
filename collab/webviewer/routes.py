"""The web viewer's HTTP side: the page, the approvals dashboard, their assets, the schema API.

The bundle is built from ``webviewer/`` (``npm run build``) into ``collab/webviewer/dist`` and
committed, so a pip-installed hub serves it without Node.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from collab.auth.http import require_principal
from collab.context import HubContext
from collab.errors import AccessDenied
from collab.filemaker.errors import DataAPIError
from collab.transports.problems import problem
from collab.webviewer.schema import LayoutSchema, build_schema

__all__ = ["DIST", "asset_router", "route_handlers"]

log = logging.getLogger("collab.webviewer")

DIST = Path(__file__).resolve().parent / "dist"
#: FileMaker's layout metadata rarely changes; do not ask it on every page load.
_TYPES_TTL_SECONDS = 60.0

#: The page talks to the hub that served it (or the one named by ?hub=), over HTTP and WebSocket.
_HEADERS = {
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' ws: wss: http: https:; base-uri 'none'; form-action 'none'"
    ),
}


def _ctx(request: Request[Any, Any, Any]) -> HubContext:
    ctx: HubContext = request.app.state.ctx
    return ctx


def _page(request: Request[Any, Any, Any], name: str, *, slash: bool) -> Response[Any]:
    # Litestar matches /webviewer and /webviewer/ alike; the page's relative asset URLs need
    # the slash (and the dashboard needs none), so send the browser to the canonical form.
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    if path.endswith("/") != slash:
        # Relative, so a reverse proxy's path prefix (/collab/webviewer) survives.
        last = path.rstrip("/").rsplit("/", 1)[-1]
        target = f"{last}/" if slash else f"../{last}"
        query = request.url.query
        return Redirect(path=target + (f"?{query}" if query else ""), status_code=308)
    file = DIST / name
    try:
        body = file.read_bytes()
    except FileNotFoundError:
        return problem(
            503, "webviewer_not_built", "the web viewer bundle is missing: run `npm ci && npm run build` in webviewer/"
        )
    return Response(body, media_type="text/html", headers=_HEADERS)


@get(["/webviewer", "/webviewer/"], include_in_schema=False)
async def webviewer_page(request: Request[Any, Any, Any]) -> Response[Any]:
    return _page(request, "index.html", slash=True)


@get(["/webviewer/approvals", "/webviewer/approvals/"], include_in_schema=False)
async def approvals_page(request: Request[Any, Any, Any]) -> Response[Any]:
    return _page(request, "approvals.html", slash=False)


class _TypeCache:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}

    async def get(self, ctx: HubContext, database: str, layout: str) -> dict[str, str] | None:
        now = time.monotonic()
        cached = self._entries.get((database, layout))
        if cached and now - cached[0] < _TYPES_TTL_SECONDS:
            return cached[1]
        fetch = getattr(ctx.filemaker, "field_types", None)
        if fetch is None:
            return None
        try:
            types = dict(await fetch(database, layout))
        except (DataAPIError, OSError) as exc:
            log.warning("field types of %s/%s unavailable: %s", database, layout, type(exc).__name__)
            return cached[1] if cached else None
        self._entries[(database, layout)] = (now, types)
        return types


_types = _TypeCache()


@get("/api/layouts/{database:str}/{layout:str}/schema", summary="The fields of a layout, for building a form")
async def layout_schema(
    request: Request[Any, Any, Any], database: FromPath[str], layout: FromPath[str]
) -> LayoutSchema:
    ctx = _ctx(request)
    principal = require_principal(request)
    if not principal.may_see_layout(database, layout):
        raise AccessDenied(f"this token does not cover the layout {database}/{layout}", code="out_of_scope")
    configured = ctx.settings.layout(database, layout)
    if configured is None:
        raise NotFoundException(f"the hub is not configured for the layout {database}/{layout}")
    return build_schema(configured, await _types.get(ctx, database, layout))


def asset_router() -> Any:
    return create_static_files_router(
        path="/webviewer/assets",
        directories=[DIST],
        name="webviewer-assets",
        cache_control=CacheControlHeader(no_cache=True),
        include_in_schema=False,
    )


def route_handlers() -> list[Any]:
    return [webviewer_page, approvals_page, layout_schema, asset_router()]
