"""Server-Sent Events: resume by Last-Event-ID with nothing lost and nothing twice."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from collab.records import RecordKey
from tests.events.conftest import auth, events_settings, token
from tests.events.support import sse_messages, subscribers, until
from tests.support.server import RunningHub, run_hub

A = RecordKey("Sales", "Invoices", "A")
B = RecordKey("Sales", "Invoices", "B")


async def test_resume_after_dropped_connections_under_a_steady_stream(
    hub: RunningHub, http: httpx.AsyncClient
) -> None:
    log = hub.ctx.events
    headers = auth(token(hub, "ann", roles=("approver",)))
    start = log.head
    emitted: list[int] = []

    async def producer() -> None:
        for i in range(300):
            emitted.append(await log.emit("record.saved", A if i % 3 else B, {"i": i}, actor="writer"))
            await asyncio.sleep(0.002)  # paces the producer so drops happen mid-stream

    task = asyncio.create_task(producer())
    received: list[int] = []
    payloads: list[int] = []
    last_id = str(start)
    drops = 0
    while not (task.done() and received and received[-1] == emitted[-1]):
        async with http.stream("GET", "/api/events/stream", headers={**headers, "Last-Event-ID": last_id}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            taken = 0
            async for message in sse_messages(r):
                if "id" in message:
                    received.append(int(message["id"]))
                    payloads.append(json.loads(message["data"])["payload"]["i"])
                    last_id = message["id"]
                    taken += 1
                if drops < 4 and taken >= 40:
                    drops += 1
                    break  # drop the connection mid-stream; the next round resumes
                if task.done() and received and received[-1] == emitted[-1]:
                    break
    await task
    assert drops == 4
    assert received == emitted, "an event was lost or delivered twice across reconnects"
    assert payloads == list(range(300))
    await until(lambda: subscribers(hub) == 0, what="dropped streams to be released")


async def test_since_filters_and_heartbeats(hub: RunningHub, http: httpx.AsyncClient) -> None:
    log = hub.ctx.events
    await log.emit("lock.changed", A, {"state": "leased"}, actor="alice")
    wanted = await log.emit("lock.changed", B, {"state": "leased"}, actor="bob")
    await log.emit("comment.added", B, {"text": "hi"}, actor="bob")
    params = {"since": 0, "record": B.room, "types": "lock.changed"}
    seen: list[dict[str, str]] = []
    async with http.stream("GET", "/api/events/stream", params=params, headers=auth(token(hub))) as r:
        async for message in sse_messages(r):
            seen.append(message)
            if message.get("comment") == "heartbeat":
                break
    events = [json.loads(m["data"]) for m in seen if "data" in m]
    assert [e["seq"] for e in events] == [wanted] and events[0]["payload"] == {"state": "leased"}
    assert any(m.get("retry") for m in seen), "the stream tells EventSource how soon to reconnect"


async def test_token_in_query_and_scope(hub: RunningHub, http: httpx.AsyncClient) -> None:
    """EventSource cannot set headers: the token rides in the query, and scope still applies."""
    log = hub.ctx.events
    only_a = token(hub, "carl", records=("Sales/Invoices/A",))
    await log.emit("lock.changed", B, {}, actor="bob")
    mine = await log.emit("lock.changed", A, {}, actor="bob")
    async with http.stream("GET", "/api/events/stream", params={"since": 0, "token": only_a}) as r:
        async for message in sse_messages(r):
            if "data" in message:
                assert json.loads(message["data"])["seq"] == mine
                break
    r = await http.get("/api/events/stream", params={"record": B.room, "token": only_a})
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
    assert (await http.get("/api/events/stream")).status_code == 401


async def test_a_consumer_far_behind_reads_from_the_store(tmp_path: Path) -> None:
    """The in-memory backlog is bounded (8 here); a consumer behind it loses nothing."""
    async with run_hub(events_settings(tmp_path / "data", max_subscriber_backlog=8)) as hub:
        emitted = [await hub.ctx.events.emit("record.saved", A, {"i": i}, actor="w") for i in range(50)]
        received: list[int] = []
        async with httpx.AsyncClient(base_url=hub.url, timeout=30) as http:
            async with http.stream("GET", "/api/events/stream", params={"since": 0}, headers=auth(token(hub))) as r:
                async for message in sse_messages(r):
                    if "id" in message:
                        received.append(int(message["id"]))
                    if received and received[-1] == emitted[-1]:
                        break
            page = (await http.get("/api/events", params={"since": 0, "limit": 20}, headers=auth(token(hub)))).json()
    assert received == emitted
    assert page["count"] == 8 and page["more"] is True and page["poll_after_ms"] == 0
