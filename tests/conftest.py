from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from collab.settings import Settings
from tests.support.server import RunningHub, hub_settings, run_hub


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return hub_settings(tmp_path / "data")


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[RunningHub]:
    async with run_hub(settings) as running:
        yield running
