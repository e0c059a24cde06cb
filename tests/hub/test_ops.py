from __future__ import annotations

import httpx
from pycrdt import Map

from tests.hub.conftest import preseed
from tests.hub.ysync import YClient, sync_url, wait_for
from tests.support.server import RunningHub


async def test_health_ready_metrics_demo(demo_hub: RunningHub) -> None:
    record = await preseed(demo_hub)
    async with YClient(sync_url(demo_hub.ws_url, record, control="1")) as client:
        await wait_for(client.synced.is_set)
        await client.edit(lambda d: d.get("fields", type=Map).__setitem__("Customer", "Zed"))
        await wait_for(lambda: client.stored == client.sent)
        async with httpx.AsyncClient(base_url=demo_hub.url) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            metrics = await http.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = metrics.text
    assert "collab_connections 1.0" in text
    assert "collab_rooms 1.0" in text
    for name in ("collab_bytes_in_total", "collab_bytes_out_total", "collab_messages_in_total",
                 "collab_store_commit_seconds_count", "collab_queue_drops_total"):
        assert name in text, name
    assert "collab_store_commit_seconds_count 0.0" not in text


async def test_ready_says_why_not(hub: RunningHub) -> None:
    """FileMaker is pointed at a closed port: 503 and the reason in words."""
    async with httpx.AsyncClient(base_url=hub.url, timeout=30) as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert any("FileMaker" in reason for reason in body["reasons"])
