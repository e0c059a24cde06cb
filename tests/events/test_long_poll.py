"""Long polling, as a FileMaker script does it with Insert From URL."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from collab.records import RecordKey
from tests.events.conftest import auth, token
from tests.events.support import subscribers, until
from tests.support.server import RunningHub

A = RecordKey("Sales", "Invoices", "A")


async def test_answers_at_once_when_newer_events_exist(hub: RunningHub, http: httpx.AsyncClient) -> None:
    first = await hub.ctx.events.emit("lock.changed", A, {"state": "open"}, actor="alice")
    second = await hub.ctx.events.emit("record.saved", A, {"mod_id": "7"}, actor="hub")
    started = time.monotonic()
    r = await http.get("/api/events", params={"since": first - 1, "wait": 9}, headers=auth(token(hub)))
    elapsed = time.monotonic() - started
    body = r.json()
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert [e["seq"] for e in body["events"]] == [first, second]
    assert body["next"] == second and body["count"] == 2 and body["more"] is False
    event = body["events"][1]
    assert event["type"] == "record.saved" and event["record"] == "Sales/Invoices/A"
    assert event["database"] == "Sales" and event["layout"] == "Invoices" and event["key"] == "A"
    assert event["payload"] == {"mod_id": "7"} and event["actor"] == "hub" and event["at"].endswith("Z")
    assert elapsed < 5, "it held the request although events were waiting"
    # Asking again from the returned cursor gives nothing new (no duplicates).
    again = (await http.get("/api/events", params={"since": body["next"]}, headers=auth(token(hub)))).json()
    assert again["events"] == [] and again["next"] == second


async def test_holds_until_the_wait_ends(hub: RunningHub, http: httpx.AsyncClient) -> None:
    await hub.ctx.events.emit("lock.changed", A, {}, actor="alice")
    started = time.monotonic()
    r = await http.get("/api/events", params={"wait": 0.6}, headers=auth(token(hub)))  # since omitted: from now
    elapsed = time.monotonic() - started
    body = r.json()
    assert body["events"] == [] and body["next"] == hub.ctx.events.head
    assert elapsed >= 0.55, f"returned after {elapsed:.3f}s without events"
    assert body["poll_after_ms"] >= hub.settings.events.poll_after_min_ms


async def test_wait_is_capped(hub: RunningHub, http: httpx.AsyncClient) -> None:
    cap = hub.settings.events.long_poll_max_seconds
    assert cap < 60, "Insert From URL gives up at 60 s"
    task = asyncio.create_task(http.get("/api/events", params={"wait": 3600}, headers=auth(token(hub))))
    await until(lambda: subscribers(hub) == 1, what="the long poll to be held")
    # It would hold 3600 s uncapped; an event releases it, proving it was being held, not refused.
    await hub.ctx.events.emit("lock.changed", A, {}, actor="x")
    assert (await asyncio.wait_for(task, cap)).status_code == 200


async def test_returns_promptly_after_a_new_event(
    hub: RunningHub, http: httpx.AsyncClient, record_property: pytest.RecordProperty
) -> None:
    headers = auth(token(hub))
    figures: list[float] = []
    for round in range(5):
        since = hub.ctx.events.head
        task = asyncio.create_task(http.get("/api/events", params={"since": since, "wait": 9}, headers=headers))
        await until(lambda: subscribers(hub) == 1, what="the long poll to be held")
        emitted = time.perf_counter()
        seq = await hub.ctx.events.emit("record.changed", A, {"fields": ["Notes"], "round": round}, actor="bob")
        response = await task
        figures.append((time.perf_counter() - emitted) * 1000)
        assert [e["seq"] for e in response.json()["events"]] == [seq]
        await until(lambda: subscribers(hub) == 0, what="the long poll to finish")
    figures.sort()
    summary = f"long poll: emit -> response in ms, min {figures[0]:.1f}, median {figures[2]:.1f}, max {figures[-1]:.1f}"
    print(summary)
    record_property("long_poll_release_ms", summary)


async def test_bad_parameters_get_problem_details(hub: RunningHub, http: httpx.AsyncClient) -> None:
    headers = auth(token(hub))
    for params in ({"since": "abc"}, {"wait": "-1"}, {"record": "only/two"}, {"layout": "nolayout"}):
        r = await http.get("/api/events", params=params, headers=headers)
        assert r.status_code == 400, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (await http.get("/api/events")).status_code == 401
    assert (await http.get("/api/events", headers=auth("not-a-token"))).status_code == 401
