"""Targets for the Data API conformance suite: the emulator over real HTTP, or a real server.

The emulator target serves ``Emulator(db=<tmp>/emulator.db)`` with uvicorn on a free loopback
port. The ``fms`` target runs the same tests against FileMaker Server when these are set
(otherwise it is skipped):

    COLLAB_TEST_FMS_URL        https://fms.example.com
    COLLAB_TEST_FMS_DATABASE   a file with the demo Invoices layout (see docs)
    COLLAB_TEST_FMS_USER / COLLAB_TEST_FMS_PASSWORD   an account with the fmrest privilege
    COLLAB_TEST_FMS_LAYOUT     default Invoices

Tests that need emulator control (locks, the clock, faults, the call log) call
``target.require_emulator()``, which skips them on a real server.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from collab.filemaker.client import DataAPIClient
from tests.support.server import free_port, run_app

if TYPE_CHECKING:
    from collab.filemaker.emulator import Emulator

LAYOUT = "Invoices"


@dataclass
class Target:
    name: str
    url: str
    database: str
    username: str
    password: str
    layout: str
    emulator: Emulator | None = None
    _clients: list[DataAPIClient] = field(default_factory=list)

    def client(self, **options: Any) -> DataAPIClient:
        """A client for this target; closed (logged out) when the test ends."""
        options.setdefault("timeout", 5.0)
        client = DataAPIClient(self.url, self.database, self.username, self.password, **options)
        self._clients.append(client)
        return client

    def require_emulator(self) -> Emulator:
        if self.emulator is None:
            pytest.skip("needs emulator control (locks, clock, faults); not available on a real server")
        return self.emulator

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()


def emulator_config(app: Any, port: int) -> uvicorn.Config:
    # interface: uvicorn cannot tell that a bound async method is an ASGI 3 app
    return uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="auto",
        interface="asgi3",
    )


@asynccontextmanager
async def serve_emulator(tmp_path: Path) -> AsyncIterator[Target]:
    """The emulator under uvicorn on a free loopback port, as a Target."""
    from collab.filemaker.emulator import Emulator

    emulator = Emulator(db=tmp_path / "emulator.db")
    port = free_port()
    async with run_app(emulator.app, "127.0.0.1", port, emulator_config(emulator.app, port)):
        target = Target("emulator", f"http://127.0.0.1:{port}", "Sales", "admin", "admin", LAYOUT, emulator)
        try:
            yield target
        finally:
            await target.close()


def _fms_target() -> Target | None:
    url = os.environ.get("COLLAB_TEST_FMS_URL", "")
    if not url:
        return None
    return Target(
        "fms",
        url,
        os.environ.get("COLLAB_TEST_FMS_DATABASE", "Sales"),
        os.environ.get("COLLAB_TEST_FMS_USER", ""),
        os.environ.get("COLLAB_TEST_FMS_PASSWORD", ""),
        os.environ.get("COLLAB_TEST_FMS_LAYOUT", LAYOUT),
    )


@pytest.fixture(params=["emulator", pytest.param("fms", marks=pytest.mark.fms)])
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Target]:
    """The conformance suite's server: every test runs on the emulator and on a real FMS."""
    if request.param == "emulator":
        async with serve_emulator(tmp_path) as running:
            yield running
        return
    fms = _fms_target()
    if fms is None:
        pytest.skip("set COLLAB_TEST_FMS_URL (and database, user, password) to run against FileMaker Server")
    try:
        yield fms
    finally:
        await fms.close()


@pytest.fixture
async def emulator_target(tmp_path: Path) -> AsyncIterator[Target]:
    """Emulator only: for tests that are about faults and control, not conformance."""
    async with serve_emulator(tmp_path) as running:
        yield running


@pytest.fixture
async def client(target: Target) -> DataAPIClient:
    return target.client()
