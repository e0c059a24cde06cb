"""Driving the web viewer page in tests, and reading what the hub and FileMaker hold."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from collab.records import RecordKey
from tests.support.server import RunningHub

__all__ = ["ARTIFACTS", "DEMO_KEY", "WebViewer", "eventually", "filemaker_values", "hub_values"]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
#: The first demo invoice (collab/filemaker/emulator/schemas/sales.toml).
DEMO_KEY = "8D1F5E2A-0001-4000-8000-000000000001"
TIMEOUT_MS = 15_000


def record(key: str = DEMO_KEY) -> RecordKey:
    return RecordKey("Sales", "Invoices", key)


async def eventually(check: Callable[[], Any], *, timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy; the last value otherwise fails."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value {last!r}")
        await asyncio.sleep(0.05)


def hub_values(hub: RunningHub, key: str = DEMO_KEY) -> dict[str, Any] | None:
    room = hub.ctx.rooms.loaded(record(key)) if hub.ctx.rooms is not None else None
    return None if room is None else dict(room.values())


def filemaker_values(hub: RunningHub, key: str = DEMO_KEY) -> dict[str, Any]:
    emulator = hub.ctx.extras["emulator"]
    for record_id in range(1, emulator.record_count("Sales", "Invoices") + 1):
        try:
            row = emulator.record("Sales", "Invoices", record_id)
        except Exception:
            continue
        if row["fieldData"].get("UUID") == key:
            return dict(row["fieldData"])
    raise AssertionError(f"no FileMaker record with UUID {key}")


class WebViewer:
    """One page (or dashboard) in its own browser context."""

    def __init__(self, hub: RunningHub, page: Any, token: str, key: str, context: Any) -> None:
        self.hub = hub
        self.page = page
        self.token = token
        self.key = key
        self.context = context
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.set_default_timeout(TIMEOUT_MS)

    @property
    def url(self) -> str:
        record_path = quote(f"Sales/Invoices/{self.key}", safe="/")
        return f"{self.hub.url}/webviewer/?record={record_path}&token={self.token}"

    async def open(self, query: str = "") -> None:
        await self.page.goto(self.url + (f"&{query}" if query else ""))
        await self.wait_synced()

    async def open_dashboard(self) -> None:
        await self.page.goto(f"{self.hub.url}/webviewer/approvals?token={self.token}")
        await self.page.wait_for_selector('#live[data-state="live"]')

    async def wait_synced(self) -> None:
        await self.page.wait_for_function("() => window.collab && JSON.parse(window.collab.getState()).synced")

    def field(self, name: str) -> Any:
        return self.page.locator(f'[data-field="{name}"]')

    async def value(self, name: str) -> str:
        result: str = await self.field(name).input_value()
        return result

    async def state(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(await self.page.evaluate("window.collab.getState()"))
        return result

    async def wait_contains(self, name: str, *parts: str) -> None:
        """Wait until the field's value contains every one of ``parts``."""
        await self.page.wait_for_function(
            "([name, parts]) => { const el = document.querySelector(`[data-field=\"${name}\"]`);"
            " return !!el && parts.every((part) => el.value.indexOf(part) !== -1) }",
            arg=[name, list(parts)],
        )

    async def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(path), full_page=True)

    def assert_no_page_errors(self) -> None:
        assert not self.errors, f"uncaught errors in the page: {self.errors}"
