"""Retention by count and age, on the real SQLite file; cursors survive it and restarts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from collab.records import RecordKey
from tests.events.conftest import api_key, events_settings
from tests.support.server import run_hub

A = RecordKey("Sales", "Invoices", "A")


async def test_retention_and_restart(tmp_path: Path) -> None:
    settings = events_settings(tmp_path / "data", retention_count=5)
    async with run_hub(settings) as hub:
        seqs = [await hub.ctx.events.emit("record.saved", A, {"i": i}, actor="hub") for i in range(12)]
        assert await hub.ctx.events.prune() == 7  # type: ignore[attr-defined]
        async with httpx.AsyncClient(base_url=hub.url) as http:
            body = (await http.get("/api/events", params={"since": 0}, headers=api_key(hub))).json()
        assert [e["seq"] for e in body["events"]] == seqs[-5:]
    with sqlite3.connect(settings.store_path) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 5
        conn.execute("UPDATE events SET at = at - 40 * 86400 WHERE seq <= ?", (seqs[-2],))
    # Restart: old events are pruned at start (age), numbering continues above everything seen.
    async with run_hub(settings) as hub:
        async with httpx.AsyncClient(base_url=hub.url) as http:
            body = (await http.get("/api/events", params={"since": 0}, headers=api_key(hub))).json()
            assert [e["seq"] for e in body["events"]] == seqs[-1:]
            seq = await hub.ctx.events.emit("record.saved", A, {}, actor="hub")
            assert seq == seqs[-1] + 1
            body = (await http.get("/api/events", params={"since": seqs[-1]}, headers=api_key(hub))).json()
            assert [e["seq"] for e in body["events"]] == [seq]
