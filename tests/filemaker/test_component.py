"""The FileMaker component inside the whole hub (demo mode): the emulator mounted at /fmi."""

from __future__ import annotations

import httpx

from collab.filemaker.pool import FileMakerPool
from tests.support.server import RunningHub


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


async def test_shutdown_logs_out(settings: object) -> None:
    from tests.support.server import run_hub

    async with run_hub(settings) as running:  # type: ignore[arg-type]
        emulator = running.ctx.extras["emulator"]
        await running.ctx.filemaker.client().layouts()
    assert emulator.calls.count("logout") == 1
