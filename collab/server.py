"""``collab serve``: settings from flags, the app, and uvicorn tuned for the hub."""

from __future__ import annotations

import argparse
import logging
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn

from collab.app import create_app
from collab.context import HubContext
from collab.logs import configure_logging
from collab.metrics import Metrics
from collab.settings import Settings, load_settings
from collab.transports.websocket import WebSocketProtocol

__all__ = ["HubServer", "demo_overrides", "serve", "uvicorn_config"]

log = logging.getLogger("collab")

DEMO_DATABASE = "Sales"
DEMO_ACCOUNT = ("admin", "admin")


def demo_overrides(settings: Settings) -> dict[str, dict[str, Any]]:
    """What ``--demo`` changes: the emulator on this port, and a secret kept in the data dir."""
    secret = settings.server.secret
    if not secret:
        path = settings.data_path / "demo-secret"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        secret = path.read_text().strip()
    return {
        "server": {"demo": True, "secret": secret, "api_key": settings.server.api_key or "demo-api-key"},
        "filemaker": {
            "url": settings.base_url,
            "database": DEMO_DATABASE,
            "username": DEMO_ACCOUNT[0],
            "password": DEMO_ACCOUNT[1],
        },
    }


class HubServer(uvicorn.Server):
    """uvicorn, plus a drain phase: before uvicorn waits for open connections to finish, the
    hub ends its event streams and closes its sockets (1012), so shutdown takes milliseconds,
    not the whole graceful timeout."""

    def __init__(self, config: uvicorn.Config, ctx: HubContext) -> None:
        super().__init__(config)
        self.ctx = ctx

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for drain in self.ctx.on_drain:
            try:
                await drain()
            except Exception:  # a failing drain step must not block the shutdown
                log.exception("drain step failed")
        await super().shutdown(sockets)


def uvicorn_config(app: Any, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        # Our own lean protocol (collab.transports.websocket): no permessage-deflate, which
        # doubles CPU per update and costs ~40 KB per socket; Yjs updates are small.
        ws=WebSocketProtocol,
        interface="asgi3",  # HubApp.__call__ returns a coroutine rather than being one
        proxy_headers=False,  # HubApp applies them to HTTP and /events (collab.app)
        ws_per_message_deflate=False,
        # uvicorn closes larger frames with 1009 before our own exact check sees them.
        ws_max_size=settings.limits.max_message_bytes + 64,
        ws_ping_interval=settings.limits.ping_interval_seconds,
        ws_ping_timeout=settings.limits.ping_interval_seconds,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(settings.writeback.shutdown_flush_seconds) + 5,
    )


def serve(args: argparse.Namespace) -> int:
    server: dict[str, Any] = {"host": args.host, "port": args.port, "data_dir": args.data_dir}
    overrides = {"server": {k: v for k, v in server.items() if v is not None}}
    if args.demo:
        overrides["server"]["demo"] = True
        preliminary = load_settings(args.config, overrides=overrides)
        for section, values in demo_overrides(preliminary).items():
            overrides.setdefault(section, {}).update(values)
    settings = load_settings(args.config, overrides=overrides)
    configure_logging(settings.server.log_level)
    ctx = HubContext(settings=settings, metrics=Metrics())
    app = create_app(settings, ctx=ctx)
    _banner(settings, ctx)
    HubServer(uvicorn_config(app, settings), ctx).run()
    return 0


def _banner(settings: Settings, ctx: HubContext) -> None:
    base = settings.base_url
    lines = [f"collab is starting on {base}"]
    if settings.store.backend == "sqlite":
        lines.append(f"  store (SQLite):      {Path(settings.store_path).resolve()}")
    else:
        lines.append("  store:               in memory (nothing survives a restart)")
    if settings.server.demo:
        lines.append(f"  FileMaker emulator:  {base}/fmi/data/vLatest  (database Sales, account admin/admin)")
    else:
        lines.append(
            f"  FileMaker Server:    {settings.filemaker.url}  (database {settings.filemaker.database})"
        )
    for label, url in ctx.extras.get("banner", []):
        lines.append(f"  {label + ':':<20} {url}")
    lines.append(f"  health / metrics:    {base}/healthz  {base}/metrics  (API schema: {base}/schema)")
    print("\n".join(lines), file=sys.stderr, flush=True)
