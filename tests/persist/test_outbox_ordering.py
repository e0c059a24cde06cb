"""The outbox row of an edit is committed no later than the edit: once the hub acknowledges an
update as stored, a kill -9 can no longer leave it unknown to the write-back."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from pycrdt import Text

from collab.records import RecordKey
from tests.hub.ysync import YClient, sync_url, wait_for
from tests.persist.helpers import fast_settings
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
