"""The FileMaker component inside the whole hub (demo mode): the emulator mounted at /fmi."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from collab.filemaker.errors import FileMakerUnavailable
from collab.filemaker.pool import FileMakerPool
from collab.settings import Settings
from tests.support.server import RunningHub, hub_settings, run_hub


async def test_demo_hub_serves_the_emulator_and_the_pool_uses_it(hub: RunningHub) -> None:
    pool = hub.ctx.filemaker
    assert isinstance(pool, FileMakerPool)
    emulator = hub.ctx.extras["emulator"]
    assert pool.settings.url == hub.url
    assert (hub.settings.data_path / "emulator.db").exists()

    assert await pool.check() is None
    client = pool.client()
    found = await client.get_records("Invoices", limit=2)
    assert len(found.records) == 2
    assert (await pool.field_types("Sales", "Invoices"))["DueDate"] == "date"

    async with httpx.AsyncClient(base_url=hub.url) as http:
        info = await http.get("/fmi/data/vLatest/productInfo")
        assert info.status_code == 200 and info.json()["messages"][0]["code"] == "0"
        missing = await http.get(
            "/fmi/data/vLatest/databases/Sales/layouts/Nope", headers={"Authorization": "Bearer x"}
        )
        assert missing.json()["messages"][0]["code"] == "952"
    assert emulator.calls.count("login") == 1


async def test_shutdown_logs_out(settings: Settings) -> None:
    async with run_hub(settings) as running:
        emulator = running.ctx.extras["emulator"]
        await running.ctx.filemaker.client().layouts()
    assert emulator.calls.count("logout") == 1


async def test_demo_calls_time_out_like_over_http(tmp_path: Path) -> None:
    """In process, a stalled call still times out, and the emulator still finishes it."""
    settings = hub_settings(tmp_path / "data", filemaker={"timeout_seconds": 0.3})
    async with run_hub(settings) as running:
        emulator = running.ctx.extras["emulator"]
        client = running.ctx.filemaker.client()
        await client.login()
        before = emulator.calls.count("layouts")
        emulator.stall(0.8)
        started = time.monotonic()
        with pytest.raises(FileMakerUnavailable, match="did not answer"):
            await client.layouts()
        assert time.monotonic() - started < 0.7
        emulator.stall(0)
        async with asyncio.timeout(5):
            while emulator.calls.count("layouts") == before:  # the server side ran to the end
                await asyncio.sleep(0.02)
        assert await client.layouts()
