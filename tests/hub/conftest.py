from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import collab.app as app_module
from collab.records import RecordKey
from collab.rooms.seeding import seed_room
from collab.settings import DEMO_LAYOUT, Settings
from tests.support.server import RunningHub, hub_settings, run_hub


async def preseed(hub: RunningHub, values: dict[str, Any] | None = None, key: str | None = None) -> RecordKey:
    """A record seeded straight into the hub's store (no FileMaker involved)."""
    key = key or str(uuid.uuid4())
    record = RecordKey("Sales", "Invoices", key)
    base = {"UUID": key, "InvoiceNo": 1, "Customer": "Acme", "Notes": "hello", "Amount": 10}
    base.update(values or {})
    await seed_room(hub.ctx.rooms.store, record, DEMO_LAYOUT, base)
    return record


def bare_settings(data_dir: Path, **sections: Mapping[str, Any]) -> Settings:
    """A hub without the emulator: anonymous editors, FileMaker pointed at nothing."""
    server = {"secret": "s" * 32, "allow_anonymous": True, **sections.pop("server", {})}
    filemaker = {"url": "http://127.0.0.1:9", **sections.pop("filemaker", {})}
    # No FileMaker behind it: write-back would only retry until its shutdown deadline.
    writeback = {"enabled": False, **sections.pop("writeback", {})}
    return hub_settings(data_dir, demo=False, server=server, filemaker=filemaker, writeback=writeback, **sections)


def _core_order() -> list[ModuleType]:
    from collab.auth import component as auth
    from collab.filemaker import component as filemaker
    from collab.rooms import component as rooms
    from collab.store import component as store
    from collab.transports import ops

    return [store, filemaker, auth, rooms, ops]


@asynccontextmanager
async def run_core_hub(settings: Settings) -> AsyncIterator[RunningHub]:
    """The whole app; with COLLAB_TEST_CORE_APP=1 only store, filemaker, auth, rooms and ops.

    The core mode isolates the hub's tests from a part that is broken for a while (the parts
    are built side by side in one checkout).
    """
    if os.environ.get("COLLAB_TEST_CORE_APP") != "1":
        async with run_hub(settings) as running:
            yield running
        return
    original = app_module.install_order
    app_module.install_order = _core_order
    try:
        async with run_hub(settings) as running:
            yield running
    finally:
        app_module.install_order = original


@asynccontextmanager
async def bare_hub(tmp_path: Path, **sections: Mapping[str, Any]) -> AsyncIterator[RunningHub]:
    async with run_core_hub(bare_settings(tmp_path / "data", **sections)) as running:
        yield running


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with run_core_hub(bare_settings(tmp_path / "data")) as running:
        yield running


#: Records of the emulator's demo database (collab/filemaker/emulator/schemas/sales.toml).
DEMO_KEYS = [f"8D1F5E2A-{i:04d}-4000-8000-{i:012d}" for i in range(1, 13)]


@pytest.fixture
async def demo_hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    """The hub with the bundled emulator at /fmi (``collab serve --demo``), anonymous editors allowed."""
    async with run_core_hub(hub_settings(tmp_path / "data", server={"allow_anonymous": True})) as running:
        yield running
