"""Shutdown does not wait for open event streams: the drain phase ends them first."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from collab.auth.tokens import mint_token
from tests.support.server import hub_settings, run_hub


async def test_open_sse_stream_and_long_poll_end_when_the_hub_stops(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path / "data")
    token = mint_token(settings.server.secret, sub="ann", name="Ann", roles=["approver"], records=["*"], ttl_seconds=600)
    headers = {"Authorization": f"Bearer {token}"}
    ended = asyncio.Event()
    async with run_hub(settings) as hub:
        async with httpx.AsyncClient(base_url=hub.url, headers=headers, timeout=60) as client:

            async def read_stream() -> None:
                async with client.stream("GET", "/api/events/stream") as response:
                    assert response.status_code == 200
                    async for _ in response.aiter_lines():
                        pass
                ended.set()

            stream = asyncio.create_task(read_stream())
            poll = asyncio.create_task(client.get("/api/events", params={"wait": 25}))
            async with asyncio.timeout(10):
                while hub.ctx.metrics.event_subscribers._value.get() < 1:  # the stream is open
                    await asyncio.sleep(0.02)
            stopping = time.monotonic()
            hub.server.should_exit = True
            async with asyncio.timeout(8):
                await ended.wait()
                assert (await poll).status_code == 200
            await stream
    # uvicorn's graceful timeout is 10 s; a hub that waited on the stream would take that long.
    assert time.monotonic() - stopping < settings.writeback.shutdown_flush_seconds + 5
