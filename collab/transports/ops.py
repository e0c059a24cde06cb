"""Operations endpoints: ``/healthz`` (alive), ``/readyz`` (store and FileMaker usable), ``/metrics``."""

from __future__ import annotations

import inspect
import logging
from typing import Any

from litestar import Response, get

from collab.context import Component, HubContext

__all__ = ["install", "readiness"]

log = logging.getLogger("collab.ops")

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


async def readiness(ctx: HubContext) -> list[str]:
    """Why the hub is not ready, in words (empty when it is)."""
    problems: list[str] = []
    rooms = ctx.rooms
    store = getattr(rooms, "store", None)
    if store is None:
        problems.append("the document store is not installed")
    else:
        try:
            reason = await store.check()
        except Exception as exc:
            log.exception("store check failed")
            reason = f"the store check failed: {exc}"
        if reason:
            problems.append(reason)
    filemaker = ctx.filemaker
    if filemaker is None:
        problems.append("FileMaker is not configured")
    else:
        try:
            result = filemaker.check()
            reason = await result if inspect.isawaitable(result) else result
        except Exception as exc:
            log.exception("FileMaker check failed")
            reason = f"FileMaker check failed: {exc}"
        if reason:
            problems.append(f"FileMaker: {reason}")
    return problems


def install(ctx: HubContext) -> Component:
    @get("/healthz", include_in_schema=True, sync_to_thread=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz")
    async def readyz() -> Response[dict[str, Any]]:
        problems = await readiness(ctx)
        if problems:
            return Response({"status": "unavailable", "reasons": problems}, status_code=503)
        return Response({"status": "ready", "reasons": []}, status_code=200)

    @get("/metrics", include_in_schema=False, sync_to_thread=False)
    def metrics() -> Response[bytes]:
        stats = getattr(ctx.rooms, "stats", None)
        if stats is not None:
            stats.publish()  # hot-path counters are batched; bring them up to date
        return Response(ctx.metrics.render(), media_type=PROMETHEUS_TEXT)

    return Component(route_handlers=[healthz, readyz, metrics])
