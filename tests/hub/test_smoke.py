from __future__ import annotations

from pycrdt import Text

from collab.protocol.control import Hello, Stored
from tests.hub.conftest import preseed
from tests.hub.ysync import YClient, sync_url, wait_for
from tests.support.server import RunningHub


async def test_two_clients_sync_and_ack(hub: RunningHub) -> None:
    record = await preseed(hub)
    url = sync_url(hub.ws_url, record, control="1")
    async with YClient(url) as a, YClient(sync_url(hub.ws_url, record)) as b:
        await wait_for(lambda: a.synced.is_set() and b.synced.is_set())
        assert a.text() == "hello"
        await a.edit(lambda d: d.get("Notes", type=Text).insert(5, " world"))
        await wait_for(lambda: b.text() == "hello world")
        await wait_for(lambda: a.stored == a.sent == 2)
        assert isinstance(a.controls[0], Hello)
        assert any(isinstance(m, Stored) for m in a.controls)
        assert b.controls == []
    room = hub.ctx.rooms.loaded(record)
    assert room is not None and room.values()["Notes"] == "hello world"


async def test_percent_encoded_key(hub: RunningHub) -> None:
    record = await preseed(hub, key="INV/2026 #7 é")
    assert record.room == "Sales/Invoices/INV%2F2026%20%237%20%C3%A9"
    async with YClient(sync_url(hub.ws_url, record)) as client:
        await wait_for(client.synced.is_set)
        assert client.fields()["UUID"] == "INV/2026 #7 é"
