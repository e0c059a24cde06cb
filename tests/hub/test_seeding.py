"""Seeding from FileMaker (the bundled emulator): once, deterministically, never under history."""

from __future__ import annotations

import asyncio

from pycrdt import Text

from collab.errors import CloseCode
from collab.protocol.control import Reset
from collab.records import RecordKey
from tests.hub.conftest import DEMO_KEYS
from tests.hub.ysync import YClient, sync_url, wait_for
from tests.support.server import RunningHub


def _record(i: int) -> RecordKey:
    return RecordKey("Sales", "Invoices", DEMO_KEYS[i])


async def test_first_open_seeds_from_filemaker(demo_hub: RunningHub) -> None:
    record = _record(0)
    async with YClient(sync_url(demo_hub.ws_url, record)) as client:
        await wait_for(client.synced.is_set)
        assert client.text() == "Quarterly maintenance contract, Q1. Net 30."
        assert client.fields()["Customer"] == "Northwind Traders"
        # A fresh client is answered from the stored seed while the room is still loading.
        await wait_for(lambda: demo_hub.ctx.rooms.loaded(record) is not None)
        room = demo_hub.ctx.rooms.loaded(record)
        assert room is not None and room.seeded is not None
        assert room.seeded.values["Customer"] == "Northwind Traders"


async def test_a_burst_of_first_opens_shares_finds(demo_hub: RunningHub) -> None:
    """Eight records opened at once (and one unknown key) cost a couple of finds, not nine;
    each record still gets its own row, and the unknown one alone is refused."""
    emulator = demo_hub.ctx.extras["emulator"]
    before = emulator.calls.count("find")
    records = [_record(i) for i in range(4, 12)]
    clients = [YClient(sync_url(demo_hub.ws_url, record)) for record in records]
    stranger = YClient(sync_url(demo_hub.ws_url, RecordKey("Sales", "Invoices", "no-such-key")))
    await asyncio.gather(*(c.connect() for c in [*clients, stranger]))
    await wait_for(lambda: all(c.synced.is_set() for c in clients))
    assert await stranger.wait_closed() == CloseCode.NOT_FOUND
    for client, record in zip(clients, records, strict=True):
        assert client.fields()["UUID"] == record.key
    finds = emulator.calls.count("find") - before
    assert 1 <= finds <= 3, finds
    for c in clients:
        await c.close()


async def test_unknown_record_closes_4404(demo_hub: RunningHub) -> None:
    client = YClient(sync_url(demo_hub.ws_url, RecordKey("Sales", "Invoices", "no-such-key")))
    await client.connect()
    assert await client.wait_closed() == CloseCode.NOT_FOUND
    assert "record not found in FileMaker" in client.close_reason
    assert client.frames_received == 0


async def test_simultaneous_first_opens_record_one_seed(demo_hub: RunningHub) -> None:
    """T6 d: many first opens at the same instant share one load and one seed."""
    record = _record(1)
    clients = [YClient(sync_url(demo_hub.ws_url, record)) for _ in range(6)]
    await asyncio.gather(*(c.connect() for c in clients))
    await wait_for(lambda: all(c.synced.is_set() for c in clients))
    expected = "Freight audit and route planning workshop (2 days)."
    assert {c.text() for c in clients} == {expected}
    stored = await demo_hub.ctx.rooms.store.load(record.room)
    assert stored is not None and stored.log_count == 1  # exactly one seed
    for c in clients:
        await c.close()


async def test_foreign_history_is_reset_not_merged(demo_hub: RunningHub) -> None:
    """A client holding a document generation the hub does not have is never merged (T6 c)."""
    record = _record(2)
    async with YClient(sync_url(demo_hub.ws_url, record)) as first:
        await wait_for(first.synced.is_set)
    # A client whose history does not contain the hub's seed: say the store was lost and the
    # record re-seeded with other values, or it was edited against another hub's document.
    foreign = YClient(sync_url(demo_hub.ws_url, record, control="1"))
    foreign.doc.get("Notes", type=Text).insert(0, "history from elsewhere")
    await foreign.connect()
    await wait_for(lambda: any(isinstance(m, Reset) for m in foreign.controls))
    await foreign.send_update(foreign.doc.get_update())  # ignored while the reset is pending
    plain = YClient(sync_url(demo_hub.ws_url, record))
    plain.doc.get("Notes", type=Text).insert(0, "history from elsewhere")
    await plain.connect()
    assert await plain.wait_closed() == CloseCode.RESET
    room = demo_hub.ctx.rooms.loaded(record)
    assert room is not None
    assert "elsewhere" not in room.values()["Notes"]
    await foreign.close()
