"""Record state and server-side field edits, against the demo emulator, seen by a real sync client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pycrdt import Array, Map, Text

from collab.records import RecordKey
from collab.settings import Settings
from tests.events.conftest import FAST_EVENTS, auth, token
from tests.hub.ysync import YClient, sync_url, wait_for
from tests.support.server import RunningHub, hub_settings, run_hub

#: The first invoice of the emulator's demo database (collab/filemaker/emulator/schemas/sales.toml).
KEY = "8D1F5E2A-0001-4000-8000-000000000001"
RECORD = RecordKey("Sales", "Invoices", KEY)
PATH = f"/api/records/{RECORD.room}"
SEEDED_NOTES = "Quarterly maintenance contract, Q1. Net 30."


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return hub_settings(tmp_path / "data", events=FAST_EVENTS)


@pytest.fixture
async def demo(settings: Settings) -> AsyncIterator[RunningHub]:
    async with run_hub(settings) as running:
        yield running


async def _events(http: httpx.AsyncClient, hub: RunningHub, since: int, **params: Any) -> list[dict[str, Any]]:
    r = await http.get("/api/events", params={"since": since, **params}, headers={"X-API-Key": hub.settings.server.api_key})
    events: list[dict[str, Any]] = r.json()["events"]
    return events


async def test_state_edit_and_comment_reach_a_sync_client(demo: RunningHub) -> None:
    alice = token(demo, "alice", roles=("editor",), records=("Sales/Invoices/*",))
    start = demo.ctx.events.head
    async with httpx.AsyncClient(base_url=demo.url, timeout=30) as http:
        state = (await http.get(PATH, headers=auth(alice))).json()
        assert state["record"] == RECORD.room and state["key"] == KEY
        assert state["values"]["Notes"] == SEEDED_NOTES and state["values"]["UUID"] == KEY
        assert state["state"] == "open" and state["lock"]["state"] == "open"
        assert state["presence_count"] == 0 and isinstance(state["poll_after_ms"], int)
        assert "last_saved_mod_id" in state and isinstance(state["writeback"], dict)

        url = sync_url(demo.ws_url, RECORD, token=token(demo, "bob", records=("Sales/Invoices/*",)))
        async with YClient(url) as client:
            await wait_for(client.synced.is_set, what="sync")
            assert client.text() == SEEDED_NOTES
            # Bob types at the end while a script rewrites the start; his edit is still in flight
            # when the script's lands. Both survive, because the script's value went in as a diff.
            before = client.doc.get_state()
            client.doc.get("Notes", type=Text).insert(len(SEEDED_NOTES.encode()), " Bob.")
            in_flight = client.doc.get_update(before)
            r = await http.post(PATH + "/fields", json={"fields": {"Notes": "Yearly" + SEEDED_NOTES[9:], "Amount": 12}},
                                headers=auth(alice))
            assert r.status_code == 200, r.text
            assert sorted(r.json()["changed"]) == ["Amount", "Notes"]
            await client.send_update(in_flight)
            merged = "Yearly" + SEEDED_NOTES[9:] + " Bob."
            await wait_for(lambda: client.fields().get("Amount") == 12, what="the script's Amount")
            await wait_for(lambda: client.text() == merged, what="the merged Notes at the client")
            await wait_for(lambda: demo.ctx.rooms.loaded(RECORD).values()["Notes"] == merged, what="the hub")

            r = await http.post(PATH + "/comments", json={"text": "Checked the totals"}, headers=auth(alice))
            assert r.status_code == 201, r.text
            comment = r.json()["comment"]
            assert comment["user"] == "alice" and comment["name"] == "Alice"
            await wait_for(lambda: len(client.doc.get("comments", type=Array)) == 1, what="the comment")
            seen = client.doc.get("comments", type=Array)[0]
            assert (seen.to_py() if isinstance(seen, Map) else seen)["text"] == "Checked the totals"

            await wait_for(lambda: demo.ctx.events.head >= start + 2, what="events")
            async with httpx.AsyncClient(base_url=demo.url, timeout=30) as poll:
                events = await _events(poll, demo, start, record=RECORD.room, types="record.changed,comment.added")
                while not any(e["type"] == "comment.added" for e in events) or not any(
                    e["type"] == "record.changed" and "Amount" in e["payload"]["fields"] for e in events
                ):
                    r = await poll.get("/api/events", params={"since": events[-1]["seq"] if events else start, "wait": 5,
                                                              "record": RECORD.room},
                                       headers={"X-API-Key": demo.settings.server.api_key})
                    events += r.json()["events"]
            added = next(e for e in events if e["type"] == "comment.added")
            assert added["payload"]["text"] == "Checked the totals" and added["actor"] == "alice"
            changed = [e for e in events if e["type"] == "record.changed"]
            users = {u for e in changed for u in e["payload"]["users"]}
            assert users <= {"alice", "bob"} and "alice" in users
            assert all(e["payload"]["fields"] for e in changed)


async def test_edits_are_refused_clearly(demo: RunningHub) -> None:
    alice = auth(token(demo, "alice", roles=("editor",), records=("Sales/Invoices/*",)))
    viewer = auth(token(demo, "vic", roles=("viewer",), records=("Sales/Invoices/*",)))
    other = auth(token(demo, "olga", roles=("editor",), records=("Sales/Other/*",)))
    async with httpx.AsyncClient(base_url=demo.url, timeout=30) as http:
        cases = [
            (alice, {"fields": {"NoSuchField": 1}}, 400, "bad_request"),
            (alice, {"fields": {"InvoiceNo": 99}}, 409, "read_only_field"),
            (alice, {"fields": {"UUID": "x"}}, 409, "read_only_field"),
            (alice, {"fields": {"Notes": {"nested": 1}}}, 400, "bad_request"),
            (alice, {"fields": {}}, 400, "bad_request"),
            (alice, ["not", "an", "object"], 400, "bad_request"),
            (viewer, {"fields": {"Notes": "x"}}, 403, "not_allowed"),
            (other, {"fields": {"Notes": "x"}}, 403, "out_of_scope"),
            ({}, {"fields": {"Notes": "x"}}, 401, "token_missing"),
        ]
        for headers, body, status, code in cases:
            r = await http.post(PATH + "/fields", content=json.dumps(body), headers=headers)
            assert (r.status_code, r.json()["code"]) == (status, code), (body, r.text)
        r = await http.get("/api/records/Sales/NoLayout/x", headers=alice)
        assert r.status_code == 403, "scope is checked before anything is revealed about the layout"
        r = await http.get("/api/records/Sales/NoLayout/x", headers={"X-API-Key": demo.settings.server.api_key})
        assert (r.status_code, r.json()["code"]) == (404, "not_found")
        r = await http.get("/api/records/Sales/Invoices/no-such-key", headers=alice)
        assert (r.status_code, r.json()["code"]) == (404, "record_missing")
        # Submitted for approval: the gate refuses writes with its reason code.
        r = await http.post(PATH + "/approval/submit", headers=alice)
        assert r.status_code == 200, r.text
        r = await http.post(PATH + "/fields", json={"fields": {"Notes": "sneaky"}}, headers=alice)
        assert (r.status_code, r.json()["code"]) == (409, "submitted")
        state = (await http.get(PATH, headers=alice)).json()
        assert state["state"] == "submitted" and state["values"]["Notes"] == SEEDED_NOTES


async def test_presence_is_coalesced_into_events(demo: RunningHub) -> None:
    admin = {"X-API-Key": demo.settings.server.api_key}
    start = demo.ctx.events.head
    url = sync_url(demo.ws_url, RECORD, token=token(demo, "bob", records=("Sales/Invoices/*",)))
    async with httpx.AsyncClient(base_url=demo.url, timeout=30) as http, YClient(url) as client:
        await wait_for(client.synced.is_set, what="sync")
        for clock, field in enumerate(["Notes", "Amount", "Notes", "Customer"], start=1):
            await client.set_awareness(json.dumps({"user": {"name": "Bob"}, "field": field}).encode(), clock)
        r = await http.get("/api/events", params={"since": start, "wait": 5, "types": "presence.changed"}, headers=admin)
        events = r.json()["events"]
        assert events, "no presence.changed event"
        state = (await http.get(PATH, headers=admin)).json()
        assert state["presence_count"] == 1 and state["presence"][0]["user"] == "bob"
        # Four awareness updates in a burst: coalesced, fewer events than updates.
        events = await _events(http, demo, start, types="presence.changed")
        assert 1 <= len(events) < 4, events
        assert events[-1]["payload"]["count"] == 1 and events[-1]["payload"]["users"][0]["user"] == "bob"


async def test_record_changed_is_throttled_not_per_keystroke(demo: RunningHub) -> None:
    admin = {"X-API-Key": demo.settings.server.api_key}
    throttle = demo.settings.events.changed_throttle_seconds
    url = sync_url(demo.ws_url, RECORD, control="1", token=token(demo, "bob", records=("Sales/Invoices/*",)))
    async with httpx.AsyncClient(base_url=demo.url, timeout=30) as http, YClient(url) as client:
        await wait_for(client.synced.is_set, what="sync")
        start = demo.ctx.events.head
        began = time.monotonic()
        typed = ""
        for char in "typing forty characters, one at a time.":
            typed += char
            await client.edit(lambda doc, c=char: doc.get("Notes", type=Text).insert(0, c))
            await asyncio.sleep(0.02)  # a fast typist's pace, so typing spans several throttle windows
        await wait_for(lambda: client.stored == client.sent, what="every keystroke stored")
        elapsed = time.monotonic() - began
        # The last summary goes out at most one throttle window after the last keystroke.
        r = await http.get("/api/events", params={"since": start, "types": "record.changed", "wait": 5}, headers=admin)
        events = r.json()["events"]
        cursor = r.json()["next"]
        while True:  # collect until one full quiet window passes without a new summary
            r = await http.get("/api/events", params={"since": cursor, "types": "record.changed",
                                                      "wait": throttle * 3}, headers=admin)
            if not r.json()["events"]:
                break
            events += r.json()["events"]
            cursor = r.json()["next"]
    assert events and all(e["payload"]["fields"] == ["Notes"] and e["payload"]["users"] == ["bob"] for e in events)
    assert len(events) <= elapsed / throttle + 2, f"{len(events)} summaries for {len(typed)} keystrokes in {elapsed:.2f}s"
    assert len(events) < len(typed)
    if elapsed > 2 * throttle:
        assert len(events) >= 2, "summaries also go out while typing continues, not only at the end"
    print(f"record.changed: {len(events)} summaries for {len(typed)} keystrokes in {elapsed:.2f}s")


async def test_a_comment_typed_in_a_web_viewer_becomes_an_event(demo: RunningHub) -> None:
    admin = {"X-API-Key": demo.settings.server.api_key}
    url = sync_url(demo.ws_url, RECORD, token=token(demo, "bob", records=("Sales/Invoices/*",)))
    async with httpx.AsyncClient(base_url=demo.url, timeout=30) as http, YClient(url) as client:
        await wait_for(client.synced.is_set, what="sync")
        start = demo.ctx.events.head
        item = {"id": "c-1", "user": "bob", "name": "Bob", "text": "Looks right", "at": "2026-12-04T10:00:00Z"}
        await client.edit(lambda doc: doc.get("comments", type=Array).append(item))
        r = await http.get("/api/events", params={"since": start, "wait": 5, "types": "comment.added"}, headers=admin)
        events = r.json()["events"]
        # Another edit must not announce the same comment again.
        await client.edit(lambda doc: doc.get("Notes", type=Text).insert(0, "x"))
        r = await http.get("/api/events", params={"since": r.json()["next"], "wait": 0.5, "types": "comment.added"},
                           headers=admin)
    assert [e["payload"]["id"] for e in events] == ["c-1"]
    assert events[0]["payload"]["text"] == "Looks right" and events[0]["actor"] == "bob"
    assert r.json()["events"] == []
