"""The outbox row of an edit is committed no later than the edit: once the hub acknowledges an
update as stored, a kill -9 can no longer leave it unknown to the write-back."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from pycrdt import Text

from collab.records import RecordKey
from tests.hub.ysync import YClient, sync_url, wait_for
from tests.persist.helpers import emulator_values, fast_settings, filemaker_values
from tests.support.server import run_hub

UUIDS = [f"8D1F5E2A-{n:04d}-4000-8000-{n:012d}" for n in range(1, 9)]


def _outbox_has(db_path: Path, record: RecordKey) -> bool:
    with sqlite3.connect(db_path) as conn:  # a separate connection sees committed rows only
        row = conn.execute(
            "SELECT 1 FROM persist_outbox WHERE database = ? AND layout = ? AND key = ?",
            (record.database, record.layout, record.key),
        ).fetchone()
    return row is not None


async def _acknowledged(client: YClient) -> None:
    """Return the moment the ack arrives (no polling interval for a late row to hide in)."""
    async with asyncio.timeout(10):
        while client.stored < client.sent:
            await asyncio.sleep(0)


async def test_outbox_row_is_committed_by_the_time_the_edit_is_acknowledged(tmp_path: Path) -> None:
    # A long debounce: the writer never runs (or clears a row) during the test.
    settings = fast_settings(tmp_path / "data", debounce_ms=60_000, ceiling_ms=120_000)
    async with run_hub(settings) as hub:
        for uuid in UUIDS:
            record = RecordKey("Sales", "Invoices", uuid)
            async with YClient(sync_url(hub.ws_url, record, control="1")) as client:
                await client.synced.wait()
                await wait_for(lambda c=client: c.stored >= c.sent)  # the sync step 2 reply
                assert not _outbox_has(settings.store_path, record)  # nothing to write yet
                await client.edit(lambda doc: doc.get("Notes", type=Text).insert(0, "x"))
                await _acknowledged(client)
                assert _outbox_has(settings.store_path, record), f"{record}: acknowledged, but no outbox row"


async def test_an_edit_during_a_write_keeps_the_row_until_filemaker_has_it(tmp_path: Path) -> None:
    """The write that carried "a" must not clear the row while "b" (typed during its PATCH)
    is stored but not in FileMaker: at every moment until then the committed row exists."""
    settings = fast_settings(tmp_path / "data")
    async with run_hub(settings) as hub:
        record = RecordKey("Sales", "Invoices", UUIDS[0])
        service = hub.ctx.writeback
        real_write = service.exchange.write
        writing = asyncio.Event()

        async def spy(*args: Any, **kwargs: Any) -> Any:
            writing.set()  # the document has been read; the PATCH is about to go out
            return await real_write(*args, **kwargs)

        service.exchange.write = spy  # type: ignore[method-assign]
        emulator = hub.ctx.extras["emulator"]
        async with YClient(sync_url(hub.ws_url, record, control="1")) as client:
            await client.synced.wait()
            record_id = (await filemaker_values(hub, record))[0]
            emulator.stall(0.5)  # below the hub's 1 s FileMaker timeout
            await client.edit(lambda doc: doc.get("Notes", type=Text).insert(0, "a"))
            await asyncio.wait_for(writing.wait(), 10)
            await client.edit(lambda doc: doc.get("Notes", type=Text).insert(0, "b"))
            await _acknowledged(client)
            emulator.stall(0)
            async with asyncio.timeout(15):
                while not emulator_values(hub, record_id)["Notes"].startswith("ba"):
                    assert _outbox_has(settings.store_path, record), "row cleared while FileMaker lacks an edit"
                    await asyncio.sleep(0.005)
        await wait_for(lambda: not _outbox_has(settings.store_path, record), timeout=15)
