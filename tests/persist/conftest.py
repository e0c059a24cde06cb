from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.persist.helpers import fast_settings
from tests.support.server import RunningHub, run_hub


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with run_hub(fast_settings(tmp_path / "data")) as running:
        yield running
