"""A fresh client opening a record whose room is not loaded gets the stored state as its sync
step 2 before the hub has built the document (``collab.rooms.endpoint._EarlyAnswer``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pycrdt import Text

from collab.protocol.origin import Origin, OriginKind
from collab.protocol.sync import STEP1, STEP2, SYNC
from tests.hub.conftest import bare_hub, preseed
from tests.hub.ysync import YClient, sync_url, wait_for


class EditsOnLoad:
    """A room_loaded hook that changes the document while the early client waits to join."""

    async def room_loaded(self, room: Any) -> None:
        await room.edit(lambda d: d.get("Notes", type=Text).insert(0, "hook: "), Origin(OriginKind.SERVER, "test"))


async def test_fresh_plain_client_gets_the_stored_state_first(tmp_path: Path) -> None:
    async with bare_hub(tmp_path) as hub:
        record = await preseed(hub)
        async with YClient(sync_url(hub.ws_url, record)) as client:
            await wait_for(client.synced.is_set)
            assert client.kinds[0] == (SYNC, STEP2)  # before the hub's own step 1: the early answer
            assert client.text() == "hello"
            await client.edit(lambda d: d.get("Notes", type=Text).insert(5, " world"))
            async with YClient(sync_url(hub.ws_url, record)) as other:  # room loaded: ordinary path
                await wait_for(lambda: other.text() == "hello world")
                assert other.kinds[0] == (SYNC, STEP1)


async def test_changes_made_while_the_room_loads_reach_the_early_client(tmp_path: Path) -> None:
    async with bare_hub(tmp_path) as hub:
        hub.ctx.observers.append(EditsOnLoad())
        record = await preseed(hub)
        async with YClient(sync_url(hub.ws_url, record)) as client:
            await wait_for(lambda: client.text() == "hook: hello")
            assert client.kinds[0] == (SYNC, STEP2)
            room = hub.ctx.rooms.loaded(record)
            assert room is not None and client.doc.get_state() == room.doc.get_state()


async def test_control_clients_and_clients_with_state_take_the_ordinary_path(tmp_path: Path) -> None:
    async with bare_hub(tmp_path, limits={"room_grace_seconds": 0.05}) as hub:
        record = await preseed(hub)
        async with YClient(sync_url(hub.ws_url, record, control="1")) as control:
            await wait_for(control.synced.is_set)
            assert control.kinds[0] == (SYNC, STEP1) and control.controls  # Hello before the state
            await control.edit(lambda d: d.get("Notes", type=Text).insert(0, "c "))
            await wait_for(lambda: control.stored == control.sent)
            doc = control.doc
        await wait_for(lambda: hub.ctx.rooms.loaded(record) is None)
        async with YClient(sync_url(hub.ws_url, record), doc=doc) as holder:  # holds history
            await wait_for(holder.synced.is_set)
            assert holder.kinds[0] == (SYNC, STEP1)
            assert holder.text() == "c hello"
