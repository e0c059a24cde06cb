from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from collab.auth.tokens import mint_token
from collab.settings import Settings
from tests.support.server import RunningHub, hub_settings, run_hub

#: Fast heartbeats and throttles so tests wait on events, not on defaults meant for production.
FAST_EVENTS = {"sse_heartbeat_seconds": 0.3, "changed_throttle_seconds": 0.2, "long_poll_max_seconds": 10.0}


SECRET = "events-test-secret-0123456789abcdef"


def events_settings(data_dir: Path, **events: Any) -> Settings:
    """A hub without the FileMaker emulator: the event transports need no FileMaker."""
    return hub_settings(
        data_dir,
        demo=False,
        server={"secret": SECRET, "api_key": "events-test-api-key"},
        filemaker={"url": "http://127.0.0.1:9"},
        events={**FAST_EVENTS, **events},
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return events_settings(tmp_path / "data")


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[RunningHub]:
    async with run_hub(settings) as running:
        yield running


def token(hub: RunningHub, sub: str = "alice", roles: Iterable[str] = ("editor",),
          records: Iterable[str] = ("*",), name: str = "") -> str:
    return mint_token(hub.settings.server.secret, sub=sub, name=name or sub.title(), roles=roles, records=records)


def auth(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


@pytest.fixture
async def http(hub: RunningHub) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hub.url, timeout=30) as client:
        yield client


def api_key(hub: RunningHub) -> dict[str, Any]:
    return {"X-API-Key": hub.settings.server.api_key}
