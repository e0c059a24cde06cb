"""Run the real thing for tests: uvicorn on a free loopback port, in the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn

from collab.app import create_app
from collab.context import HubContext
from collab.metrics import Metrics
from collab.server import HubServer, demo_overrides, uvicorn_config
from collab.settings import Settings, load_settings

__all__ = ["RunningHub", "free_port", "hub_settings", "run_app", "run_hub"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hub_settings(data_dir: Path, *, port: int | None = None, demo: bool = True, **sections: Mapping[str, Any]) -> Settings:
    """Settings for a test hub: demo emulator on the same port, SQLite under ``data_dir``."""
    port = port or free_port()
    overrides: dict[str, dict[str, Any]] = {"server": {"port": port, "data_dir": str(data_dir), "demo": demo}}
    for section, values in sections.items():
        overrides.setdefault(section, {}).update(values)
    settings = load_settings(None, environ={}, overrides=overrides)
    if demo:
        for section, values in demo_overrides(settings).items():
            merged = dict(values)
            merged.update(overrides.get(section, {}))
            overrides[section] = merged
        settings = load_settings(None, environ={}, overrides=overrides)
    return settings


class RunningHub:
    def __init__(self, settings: Settings, ctx: HubContext, server: uvicorn.Server) -> None:
        self.settings = settings
        self.ctx = ctx
        self.server = server

    @property
    def url(self) -> str:
        return self.settings.base_url

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)


@asynccontextmanager
async def run_app(
    app: Any, host: str, port: int, config: uvicorn.Config | None = None, server: uvicorn.Server | None = None
) -> AsyncIterator[uvicorn.Server]:
    """Serve any ASGI app on host:port until the block ends."""
    config = config or uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    server = server or uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        yield server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


@asynccontextmanager
async def run_hub(settings: Settings) -> AsyncIterator[RunningHub]:
    """The whole hub (create_app) under uvicorn, configured as ``collab serve`` configures it."""
    ctx = HubContext(settings=settings, metrics=Metrics())
    app = create_app(settings, ctx=ctx)
    config = uvicorn_config(app, settings)
    hub_server = HubServer(config, ctx)
    async with run_app(app, settings.server.host, settings.server.port, config, hub_server) as server:
        yield RunningHub(settings, ctx, server)
