"""The JSON event WebSocket /events for plugin clients: subscribe, events, unsubscribe, garbage."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from collab.records import RecordKey
from tests.events.conftest import token
from tests.support.server import RunningHub

A = RecordKey("Sales", "Invoices", "A")
B = RecordKey("Sales", "Invoices", "B")


async def _recv(ws: ClientConnection) -> dict[str, Any]:
    message = json.loads(await ws.recv(decode=True))
    assert isinstance(message, dict)
    return message


async def test_subscribe_resume_filter_unsubscribe(hub: RunningHub) -> None:
    log = hub.ctx.events
    old = await log.emit("lock.changed", A, {"state": "leased"}, actor="alice")
    await log.emit("lock.changed", B, {}, actor="bob")
    url = f"{hub.ws_url}/events?token={token(hub, 'plug', records=('Sales/Invoices/*',))}"
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "subscribe", "since": old - 1, "record": A.room, "types": ["lock.changed"]}))
        assert await _recv(ws) == {"type": "subscribed", "next": old - 1}
        first = await _recv(ws)
        assert first["type"] == "event" and first["event"]["seq"] == old and first["event"]["record"] == A.room
        live = await log.emit("lock.changed", A, {"state": "open"}, actor="alice")
        assert (await _recv(ws))["event"]["seq"] == live
        # A new subscription replaces the old one; since omitted means from now.
        await ws.send(json.dumps({"type": "subscribe", "types": ["record.saved"]}))
        assert (await _recv(ws))["next"] == log.head
        await log.emit("lock.changed", A, {}, actor="alice")  # not asked for any more
        saved = await log.emit("record.saved", B, {}, actor="hub")
        assert (await _recv(ws))["event"]["seq"] == saved
        await ws.send(json.dumps({"type": "unsubscribe"}))
        assert await _recv(ws) == {"type": "unsubscribed"}
        await log.emit("record.saved", B, {}, actor="hub")
        await ws.send(json.dumps({"type": "ping"}))
        pong = await _recv(ws)  # nothing arrived between unsubscribe and pong
        assert pong["type"] == "pong"


async def test_scope_and_errors(hub: RunningHub) -> None:
    url = f"{hub.ws_url}/events?token={token(hub, 'plug', records=('Sales/Invoices/A',))}"
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "subscribe", "record": B.room}))
        refused = await _recv(ws)
        assert refused["type"] == "error" and refused["code"] == "out_of_scope"
        for garbage in ("not json", json.dumps([1, 2]), json.dumps({"type": "dance"}), b"\x00binary"):
            await ws.send(garbage)
            assert (await _recv(ws))["type"] == "error"
        await ws.send(json.dumps({"type": "subscribe", "since": "yesterday"}))
        assert (await _recv(ws))["code"] == "bad_request"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_refuses_a_missing_token(hub: RunningHub) -> None:
    async with connect(f"{hub.ws_url}/events") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
