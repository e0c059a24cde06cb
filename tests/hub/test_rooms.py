"""Room lifecycle, observers, server edits, compaction, awareness, panics."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Text

from collab.errors import CloseCode
from collab.protocol.control import AccessState, Reset
from collab.protocol.origin import Origin, OriginKind
from collab.rooms import checks
from collab.rooms.room import build_doc
from tests.hub.conftest import bare_hub, preseed
from tests.hub.ysync import YClient, sync_url, wait_for


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.unload_gate: asyncio.Event | None = None

    def room_loaded(self, room: Any) -> None:
        self.calls.append("loaded")

    def connection_joined(self, room: Any, connection: Any) -> None:
        self.calls.append("joined")
        room.send_control(AccessState(state="open"), to=connection.id)

    def updates_stored(self, room: Any, origins: list[Origin]) -> None:
        self.calls.extend(f"stored:{origin.kind}" for origin in origins)

    def connection_left(self, room: Any, connection: Any) -> None:
        self.calls.append("left")

    def presence_changed(self, room: Any) -> None:
        self.calls.append("presence")

    async def room_unloading(self, room: Any) -> None:
        self.calls.append("unloading")
        if self.unload_gate is not None:
            await self.unload_gate.wait()


async def test_observers_server_edit_and_unload(tmp_path: Path) -> None:
    async with bare_hub(tmp_path, limits={"room_grace_seconds": 0.2}) as hub:
        recorder = Recorder()
        hub.ctx.observers.append(recorder)
        record = await preseed(hub)
        client = YClient(sync_url(hub.ws_url, record, control="1"))
        await client.connect()
        await wait_for(client.synced.is_set)
        assert any(isinstance(m, AccessState) for m in client.controls)
        room = hub.ctx.rooms.loaded(record)
        update = await room.edit(
            lambda d: d.get("Notes", type=Text).insert(0, "server: "), Origin(OriginKind.SERVER, "script", "u")
        )
        assert update
        await wait_for(lambda: client.text().startswith("server: "))
        await client.edit(lambda d: d.get("Notes", type=Text).insert(len("server: hello"), "!"))
        await wait_for(lambda: client.stored == client.sent)
        assert await room.edit(lambda d: None, Origin(OriginKind.SERVER)) == b""
        await client.set_awareness(b'{"user":{"name":"A"},"field":"Notes"}')
        await wait_for(lambda: len(room.presence()) == 1)
        assert room.presence()[0]["field"] == "Notes" and room.presence()[0]["user"] == "anonymous"
        await client.close()
        # loaded() turns None as soon as the unload starts; the hook runs after pending commits.
        await wait_for(lambda: "unloading" in recorder.calls)
        assert hub.ctx.rooms.loaded(record) is None
        assert recorder.calls[:2] == ["loaded", "joined"]
        for hook in ("stored:server", "stored:client", "presence", "left", "unloading"):
            assert hook in recorder.calls, hook
        # Reopened from the store, with the server's edit.
        async with YClient(sync_url(hub.ws_url, record)) as again:
            await wait_for(again.synced.is_set)
            assert again.text() == "server: hello!"


async def test_reconnect_during_unload_is_safe(tmp_path: Path) -> None:
    async with bare_hub(tmp_path, limits={"room_grace_seconds": 0.05}) as hub:
        recorder = Recorder()
        recorder.unload_gate = asyncio.Event()
        hub.ctx.observers.append(recorder)
        record = await preseed(hub)
        async with YClient(sync_url(hub.ws_url, record, control="1")) as first:
            await wait_for(first.synced.is_set)
            await first.edit(lambda d: d.get("Notes", type=Text).insert(0, "kept "))
            await wait_for(lambda: first.stored == first.sent)
        await wait_for(lambda: "unloading" in recorder.calls)
        second = YClient(sync_url(hub.ws_url, record))
        await second.connect()
        await asyncio.sleep(0)  # the open is now waiting on the unload
        recorder.unload_gate.set()
        await wait_for(second.synced.is_set)
        assert second.text() == "kept hello"
        await second.close()


async def test_compaction_keeps_everything(tmp_path: Path) -> None:
    async with bare_hub(tmp_path, store={"compact_after_updates": 5}) as hub:
        record = await preseed(hub)
        async with YClient(sync_url(hub.ws_url, record, control="1")) as client:
            await wait_for(client.synced.is_set)
            for i in range(23):
                await client.edit(lambda d, i=i: d.get("Notes", type=Text).insert(0, f"{i};"))
            await wait_for(lambda: client.stored == client.sent)
            expected = client.text()
        stored = await hub.ctx.rooms.store.load(record.room)
        assert stored is not None and stored.log_count < 5 and len(stored.updates) <= 5
        doc: Doc = Doc()
        for u in stored.updates:
            doc.apply_update(u)
        assert str(doc.get("Notes", type=Text)) == expected


async def test_reset_connection_and_plain_reset(tmp_path: Path) -> None:
    async with bare_hub(tmp_path) as hub:
        record = await preseed(hub)
        opt = YClient(sync_url(hub.ws_url, record, control="1"))
        plain = YClient(sync_url(hub.ws_url, record))
        await opt.connect()
        await plain.connect()
        await wait_for(lambda: opt.synced.is_set() and plain.synced.is_set())
        room = hub.ctx.rooms.loaded(record)
        for conn in room.connections:
            room.reset_connection(conn.id, "approved", "the record was approved")
        await wait_for(lambda: any(isinstance(m, Reset) for m in opt.controls))
        assert await plain.wait_closed() == CloseCode.RESET
        await opt.close()


async def test_panic_reloads_the_room_from_the_store(tmp_path: Path) -> None:
    """A yrs panic (a BaseException named PanicException) drops the room; the next open reloads it."""
    async with bare_hub(tmp_path) as hub:
        record = await preseed(hub)
        victim = YClient(sync_url(hub.ws_url, record, control="1"))
        await victim.connect()
        await wait_for(victim.synced.is_set)
        await victim.edit(lambda d: d.get("Notes", type=Text).insert(0, "safe "))
        await wait_for(lambda: victim.stored == victim.sent)
        room = hub.ctx.rooms.loaded(record)

        PanicException = type("PanicException", (BaseException,), {})
        original = checks.check_update

        def panicking(update: bytes) -> Any:
            if getattr(panicking, "armed", False):
                panicking.armed = False  # type: ignore[attr-defined]
                raise PanicException("boom")
            return original(update)

        checks.check_update = panicking  # fault injection at the yrs boundary
        try:
            attacker = YClient(sync_url(hub.ws_url, record))
            await attacker.connect()
            await wait_for(attacker.synced.is_set)
            panicking.armed = True  # type: ignore[attr-defined]
            await attacker.edit(lambda d: d.get("Notes", type=Text).insert(0, "x"))
            assert await attacker.wait_closed() == CloseCode.POLICY
        finally:
            checks.check_update = original
        assert await victim.wait_closed() == CloseCode.RESTART
        await wait_for(lambda: hub.ctx.rooms.loaded(record) is not room)
        async with YClient(sync_url(hub.ws_url, record)) as fresh:
            await wait_for(fresh.synced.is_set)
            assert fresh.text() == "safe hello"
        assert checks.is_panic(PanicException()) and not checks.is_panic(KeyboardInterrupt())


async def test_compaction_keeps_pending_updates() -> None:
    """An acked update whose dependencies have not arrived yet survives compaction and a reload."""
    from tests.hub.conftest import bare_settings
    from tests.hub.harness import RECORD, Harness, Peer

    harness = Harness(settings=bare_settings(Path("/nonexistent"), store={"compact_after_updates": 2}))
    await harness.seed()
    writer, relay = Peer("writer"), Peer("relay")
    await harness.connect(writer)
    await harness.connect(relay)
    await harness.quiesce([writer, relay])
    writer.edit(0, 0, "first ")  # u1: held back
    writer.edit(0, 6, "second ")  # u2: depends on u1
    u1, u2 = writer.outbox[-2], writer.outbox[-1]
    relay.outbox += [u2, u2]  # another connection delivers u2 early, twice: compaction runs
    harness.up(relay, 0)
    harness.up(relay, 0)
    await harness.turn()
    stored = await harness.store.load(RECORD.room)
    assert stored is not None and stored.log_count == 0  # compacted
    relay.outbox.append(u1)
    harness.up(relay, 0)
    await harness.turn()
    restarted = Harness(harness.store, harness.settings)
    room = await restarted.registry.acquire(RECORD)
    assert room.values()["Notes"].startswith("first second ")
    for peer in (writer, relay):
        await harness.disconnect(peer)


async def test_failed_commit_raises_and_reloads_from_the_store() -> None:
    """A commit that fails is never acknowledged; the room reloads without the lost change."""
    from collab.errors import StoreError
    from collab.rooms.store import MemoryDocStore
    from tests.hub.harness import RECORD, Harness

    class FlakyStore(MemoryDocStore):
        fail_next = False

        def append(self, room: str, updates: Any) -> asyncio.Future[None]:
            if not self.fail_next:
                return super().append(room, updates)
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            future.set_exception(StoreError("disk full"))
            return future

    store = FlakyStore()
    harness = Harness(store)
    await harness.seed()
    room = await harness.registry.acquire(RECORD)
    await room.edit(lambda d: d.get("Notes", type=Text).insert(0, "kept "), Origin(OriginKind.SERVER))
    store.fail_next = True
    try:
        await room.edit(lambda d: d.get("Notes", type=Text).insert(0, "lost "), Origin(OriginKind.SERVER))
    except StoreError:
        pass
    else:
        raise AssertionError("a failed commit must raise StoreError")
    store.fail_next = False
    await wait_for(lambda: harness.registry.loaded(RECORD) is None)
    again = await harness.registry.acquire(RECORD)
    assert again is not room and again.values()["Notes"] == "kept seed text"


async def test_room_documents_share_no_per_document_async_machinery() -> None:
    # Rooms share pycrdt's async-transaction lock and have no doc.events() streams (memory per
    # idle room); both still behave: async transactions work, events() says what to use.
    first, second = build_doc([]), build_doc([])
    async with first.new_transaction():
        first.get("t", type=Text).insert(0, "a")
    async with second.new_transaction():
        second.get("t", type=Text).insert(0, "b")
    assert str(first.get("t", type=Text)) == "a" and str(second.get("t", type=Text)) == "b"
    copy = build_doc([first.get_update()])
    assert str(copy.get("t", type=Text)) == "a"
    with pytest.raises(RuntimeError, match="observe"):
        first.events()
