from __future__ import annotations

import httpx

from tests.support.server import RunningHub


async def test_health_ready_metrics(hub: RunningHub) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        # The core-only hub has no FileMaker component: not ready, and it says why in words.
        if hub.ctx.filemaker is None:
            assert ready.status_code == 503
            assert "FileMaker is not configured" in ready.json()["reasons"]
        metrics = await http.get("/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        for name in ("collab_connections", "collab_rooms", "collab_bytes_in_total", "collab_store_commit_seconds"):
            assert name in metrics.text
