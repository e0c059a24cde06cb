"""Filters (record, layout, user, types) and scope: a consumer sees only records it may open."""

from __future__ import annotations

from typing import Any

import httpx

from collab.records import RecordKey
from tests.events.conftest import api_key, auth, token
from tests.support.server import RunningHub

A = RecordKey("Sales", "Invoices", "A")
B = RecordKey("Sales", "Invoices", "B")
C = RecordKey("Sales", "Other", "C")


async def _seed(hub: RunningHub) -> dict[str, int]:
    emit = hub.ctx.events.emit
    return {
        "sam_submits_a": await emit("approval.changed", A, {"state": "submitted", "submitted_by": "sam"}, actor="sam"),
        "bob_leases_b": await emit("lock.changed", B, {"state": "open", "holder": "bob"}, actor="bob"),
        "comment_c": await emit("comment.added", C, {"text": "hello"}, actor="carol"),
        "ann_approves_a": await emit("approval.changed", A, {"state": "approved", "submitted_by": "sam"}, actor="ann"),
        "saved_a": await emit("record.saved", A, {"mod_id": "3"}, actor="hub"),
        "saved_b": await emit("record.saved", B, {"mod_id": "9"}, actor="hub"),
    }


async def _seqs(http: httpx.AsyncClient, headers: dict[str, Any], **params: Any) -> list[int]:
    r = await http.get("/api/events", params={"since": 0, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return [event["seq"] for event in r.json()["events"]]


async def test_filters(hub: RunningHub, http: httpx.AsyncClient) -> None:
    s = await _seed(hub)
    admin = api_key(hub)
    assert await _seqs(http, admin, record=A.room) == [s["sam_submits_a"], s["ann_approves_a"], s["saved_a"]]
    assert await _seqs(http, admin, layout="Sales/Other") == [s["comment_c"]]
    assert await _seqs(http, admin, types="comment.added,lock.changed") == [s["bob_leases_b"], s["comment_c"]]
    # The events that concern sam: his own action, and what happened to the record he submitted.
    assert await _seqs(http, admin, user="sam") == [s["sam_submits_a"], s["ann_approves_a"], s["saved_a"]]
    assert await _seqs(http, admin, user="sam", types="approval.changed") == [s["sam_submits_a"], s["ann_approves_a"]]
    assert await _seqs(http, admin, layout="Sales/Invoices", types="record.saved") == [s["saved_a"], s["saved_b"]]


async def test_scope(hub: RunningHub, http: httpx.AsyncClient) -> None:
    s = await _seed(hub)
    only_a = auth(token(hub, "sam", records=("Sales/Invoices/A",)))
    invoices = auth(token(hub, "vic", roles=("viewer",), records=("Sales/Invoices/*",)))
    assert await _seqs(http, only_a) == [s["sam_submits_a"], s["ann_approves_a"], s["saved_a"]]
    assert await _seqs(http, invoices) == [s[k] for k in ("sam_submits_a", "bob_leases_b", "ann_approves_a", "saved_a", "saved_b")]
    # Filtering for another user never widens the scope.
    assert await _seqs(http, only_a, user="bob") == []
    for params in ({"record": B.room}, {"layout": "Sales/Other"}):
        r = await http.get("/api/events", params=params, headers=only_a)
        assert r.status_code == 403 and r.json()["code"] == "out_of_scope", params
    # The cursor still moves past what a consumer may not see, so it does not scan it again.
    body = (await http.get("/api/events", params={"since": s["saved_a"]}, headers=only_a)).json()
    assert body["events"] == [] and body["next"] == s["saved_b"]


async def test_poll_after_hint_is_short_while_busy_and_grows_while_idle(hub: RunningHub, http: httpx.AsyncClient) -> None:
    settings = hub.settings.events
    headers = api_key(hub)
    idle = (await http.get("/api/events", params={"record": C.room}, headers=headers)).json()
    assert idle["poll_after_ms"] == settings.poll_after_max_ms
    await hub.ctx.events.emit("record.changed", C, {"fields": ["Notes"]}, actor="x")
    busy = (await http.get("/api/events", params={"record": C.room}, headers=headers)).json()
    assert busy["poll_after_ms"] == settings.poll_after_min_ms
    # Quiet for a while: the hint grows (the clock is moved, not waited for).
    activity = hub.ctx.events.activity  # type: ignore[attr-defined]
    activity._last[f"record:{C.room}"] -= 45.0
    later = (await http.get("/api/events", params={"record": C.room}, headers=headers)).json()
    assert settings.poll_after_min_ms < later["poll_after_ms"] < settings.poll_after_max_ms
    # Busy elsewhere does not make this record's loop fast.
    await hub.ctx.events.emit("record.changed", A, {"fields": ["Notes"]}, actor="x")
    still = (await http.get("/api/events", params={"record": C.room}, headers=headers)).json()
    assert still["poll_after_ms"] > settings.poll_after_min_ms
