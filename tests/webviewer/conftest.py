"""Browser tests of the web viewer: the whole hub in demo mode, Debian's Chromium via Playwright.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (override with
``COLLAB_TEST_CHROMIUM``). Screenshots go to ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from collab.auth.tokens import mint_token
from collab.settings import Settings
from tests.support.server import RunningHub, hub_settings, run_hub
from tests.webviewer.helpers import ARTIFACTS, DEMO_KEY, WebViewer

CHROMIUM = os.environ.get("COLLAB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Quick write-back so FileMaker catches up within a test's patience.
    return hub_settings(tmp_path / "data", writeback={"debounce_ms": 150, "ceiling_ms": 1000})


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[RunningHub]:
    async with run_hub(settings) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class Opener:
    """Opens web viewer pages, each in its own browser context (its own user, no shared tabs)."""

    def __init__(self, hub: RunningHub, browser: Any) -> None:
        self.hub = hub
        self.browser = browser
        self.contexts: list[Any] = []
        self.viewers: list[WebViewer] = []

    def token(self, sub: str, name: str, roles: list[str]) -> str:
        return mint_token(
            self.hub.settings.server.secret, sub=sub, name=name, roles=roles, records=["Sales/Invoices/*"], ttl_seconds=900
        )

    async def context(self, init_script: str | None = None) -> Any:
        context = await self.browser.new_context(viewport={"width": 1200, "height": 820})
        if init_script:
            await context.add_init_script(init_script)
        self.contexts.append(context)
        return context

    async def page(
        self,
        sub: str,
        name: str,
        roles: list[str],
        *,
        key: str = DEMO_KEY,
        query: str = "",
        init_script: str | None = None,
        context: Any = None,
    ) -> WebViewer:
        context = context or await self.context(init_script)
        viewer = WebViewer(self.hub, await context.new_page(), self.token(sub, name, roles), key, context)
        self.viewers.append(viewer)
        await viewer.open(query)
        return viewer

    async def dashboard(self, sub: str, name: str) -> WebViewer:
        context = await self.context()
        viewer = WebViewer(self.hub, await context.new_page(), self.token(sub, name, ["approver"]), DEMO_KEY, context)
        self.viewers.append(viewer)
        await viewer.open_dashboard()
        return viewer

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def opener(hub: RunningHub, browser: Any) -> AsyncIterator[Opener]:
    opener = Opener(hub, browser)
    try:
        yield opener
        for viewer in opener.viewers:
            viewer.assert_no_page_errors()
    finally:
        await opener.close()
