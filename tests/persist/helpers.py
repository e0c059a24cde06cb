"""Shared pieces of the write-back tests: fast settings, FileMaker reads, waiting on conditions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from collab.filemaker.values import record_to_document
from collab.records import RecordKey
from collab.settings import Settings
from tests.support.server import RunningHub, hub_settings

#: Small timings so the fault matrix runs in seconds (production defaults are in settings.py).
FAST_WRITEBACK: dict[str, Any] = {
    "debounce_ms": 40,
    "ceiling_ms": 300,
    "backoff_initial_ms": 100,
    "backoff_max_ms": 600,
    "max_requests_per_second_per_record": 10.0,
    "max_requests_per_second": 40.0,
    "validation_attempts": 2,
    "poll_min_ms": 200,
    "poll_max_ms": 800,
    "max_polls_per_second": 20.0,
    "shutdown_flush_seconds": 3.0,
}


def fast_settings(data_dir: Path, **writeback: Any) -> Settings:
    return hub_settings(
        data_dir,
        server={"allow_anonymous": True},
        filemaker={"timeout_seconds": 1.0},
        writeback={**FAST_WRITEBACK, **writeback},
    )


def record_key(uuid: str) -> RecordKey:
    return RecordKey("Sales", "Invoices", uuid)


async def filemaker_values(hub: RunningHub, record: RecordKey) -> tuple[str, str, dict[str, Any]]:
    """(recordId, modId, values in document form) as FileMaker holds them now."""
    pool = hub.ctx.filemaker
    found = await pool.client(record.database).find_one_by(record.layout, "UUID", record.key)
    assert found is not None, f"{record} is not in FileMaker"
    types = await pool.field_types(record.database, record.layout)
    return found.record_id, found.mod_id, record_to_document(found.field_data, types)


def emulator_values(hub: RunningHub, record_id: str) -> dict[str, Any]:
    """Straight from the emulator's table: no Data API call (does not disturb call counts)."""
    row = hub.ctx.extras["emulator"].record("Sales", "Invoices", int(record_id))
    return dict(row["fieldData"])


async def eventually(
    check: Callable[[], Awaitable[bool] | bool], timeout: float = 15.0, what: str | Callable[[], str] = ""
) -> None:
    """Retry ``check`` until it holds (the event loop keeps running), else fail naming ``what``
    (a callable ``what`` is evaluated at the failure, so it can show the final state)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for: {(what() if callable(what) else what) or check}")
        await asyncio.sleep(0.02)


def converged(hub: RunningHub, record: RecordKey) -> dict[str, Any]:
    room = hub.ctx.rooms.loaded(record)
    assert room is not None
    values: dict[str, Any] = room.values()
    return values


async def events_of(hub: RunningHub, record: RecordKey, type: str) -> list[dict[str, Any]]:
    """Events of ``type`` for ``record`` from the hub's event log, over its HTTP API."""
    import httpx

    async with httpx.AsyncClient(base_url=hub.url, headers={"X-API-Key": hub.settings.server.api_key}) as http:
        response = await http.get("/api/events", params={"since": 0, "types": type, "limit": 500})
    response.raise_for_status()
    return [e for e in response.json()["events"] if e["key"] == record.key and e["type"] == type]
