"""Containment: connection caps, handshake timeout, bounded outbound queues with priorities."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from collab.auth.principal import ANONYMOUS_EDITOR
from collab.errors import CloseCode
from collab.rooms.connection import Connection
from tests.hub.conftest import bare_hub, preseed
from tests.hub.ysync import YClient, sync_url, wait_for


async def test_per_room_connection_cap(tmp_path: Path) -> None:
    async with bare_hub(tmp_path, limits={"max_connections_per_room": 2}) as hub:
        record = await preseed(hub)
        url = sync_url(hub.ws_url, record)
        a, b, c = YClient(url), YClient(url), YClient(url)
        await a.connect()
        await b.connect()
        await wait_for(lambda: a.synced.is_set() and b.synced.is_set())
        await c.connect()
        assert await c.wait_closed() == CloseCode.TRY_AGAIN
        assert c.frames_received == 0
        await a.close()
        await b.close()


async def test_global_connection_cap(tmp_path: Path) -> None:
    async with bare_hub(tmp_path, limits={"max_connections": 1}) as hub:
        record = await preseed(hub)
        first = YClient(sync_url(hub.ws_url, record))
        await first.connect()
        await wait_for(first.synced.is_set)
        second = YClient(sync_url(hub.ws_url, record))
        await second.connect()
        assert await second.wait_closed() == CloseCode.TRY_AGAIN
        await first.close()


async def test_handshake_timeout(tmp_path: Path) -> None:
    async with bare_hub(tmp_path, limits={"handshake_timeout_seconds": 0.3}) as hub:
        record = await preseed(hub)
        silent = YClient(sync_url(hub.ws_url, record))
        await silent.connect(send_step1=False)
        assert await silent.wait_closed(5) == CloseCode.POLICY
        assert "step 1" in silent.close_reason


async def test_idle_timeout(tmp_path: Path) -> None:
    async with bare_hub(tmp_path, limits={"idle_timeout_seconds": 0.4}) as hub:
        record = await preseed(hub)
        idle = YClient(sync_url(hub.ws_url, record))
        await idle.connect()
        await wait_for(idle.synced.is_set)
        assert await idle.wait_closed(5) == CloseCode.GOING_AWAY


class _Stalled:
    """A socket whose send never completes (a consumer that stopped reading)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.release = asyncio.Event()

    async def __call__(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        await self.release.wait()


async def test_outbound_queue_priorities_and_slow_consumer() -> None:
    stalled = _Stalled()
    conn = Connection("c", ANONYMOUS_EDITOR, stalled, control=True, queue_limit=1000, rate=1, burst=1)
    conn.push_sync(b"s" * 10)  # picked up by the writer, which then stalls in send
    await wait_for(lambda: len(stalled.sent) == 1)
    conn.push_awareness(1, b"a" * 300)
    conn.push_awareness(1, b"b" * 300)  # coalesced: only the newest state per client waits
    assert conn.queued_bytes == 300
    conn.push_awareness(2, b"c" * 300)
    conn.push_sync(b"u" * 300)
    conn.push_control(b"k" * 50)
    assert conn.queued_bytes == 950
    conn.push_sync(b"v" * 300)  # over the limit: awareness is dropped first
    assert conn.drops == 2 and not conn.closing
    assert conn.queued_bytes == 650
    conn.push_sync(b"w" * 400)  # still over with sync alone: too slow, closed 1013
    assert conn.closing
    stalled.release.set()
    await wait_for(lambda: stalled.sent[-1]["type"] == "websocket.close")
    assert stalled.sent[-1]["code"] == CloseCode.TRY_AGAIN
    await conn.finish()


async def test_writer_sends_control_before_sync_before_awareness() -> None:
    stalled = _Stalled()
    conn = Connection("c", ANONYMOUS_EDITOR, stalled, control=True, queue_limit=10_000, rate=1, burst=1)
    conn.push_sync(b"first")
    await wait_for(lambda: len(stalled.sent) == 1)
    conn.push_awareness(1, b"aw")
    conn.push_sync(b"sync")
    conn.push_control(b"ctl")
    stalled.release.set()
    await wait_for(lambda: len(stalled.sent) == 4)
    assert [m["bytes"] for m in stalled.sent] == [b"first", b"ctl", b"sync", b"aw"]
    await conn.finish()


def test_token_bucket() -> None:
    conn = Connection("c", ANONYMOUS_EDITOR, _Stalled(), control=False, queue_limit=10, rate=10.0, burst=5)
    start = conn.tokens_at
    assert all(conn.take_token(start) for _ in range(5))
    assert not conn.take_token(start)
    assert conn.take_token(start + 0.11)  # a token is back after 1/rate seconds


async def test_permessage_deflate_is_refused(tmp_path: Path) -> None:
    """T11 b: the hub never negotiates compression, so a deflate bomb cannot happen."""
    import websockets

    async with bare_hub(tmp_path) as hub:
        record = await preseed(hub)
        async with websockets.connect(sync_url(hub.ws_url, record), compression="deflate") as ws:
            assert ws.protocol.extensions == []
            assert "permessage-deflate" not in (ws.response.headers.get("Sec-WebSocket-Extensions") or "")
