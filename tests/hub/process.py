"""``python -m collab serve --demo`` as a real subprocess with its own data dir (for kill -9)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx

from collab.auth.tokens import mint_token
from tests.support.server import free_port

__all__ = ["HubProcess"]

SECRET = "durability-test-secret-0123456789"


class HubProcess:
    def __init__(self, data_dir: Path, *, config: str = "") -> None:
        self.data_dir = data_dir
        self.config = config
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None
        data_dir.mkdir(parents=True, exist_ok=True)
        self._log = data_dir / "hub.log"
        (data_dir / "demo-secret").write_text(SECRET)  # demo mode signs with this

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def token(self, *roles: str) -> str:
        return mint_token(SECRET, sub="tester", roles=roles or ("editor",), records=["*"])

    async def start(self) -> None:
        env = {**os.environ, "COLLAB_LOG_LEVEL": "info"}
        extra: list[str] = []
        if self.config:
            path = self.data_dir / "collab.toml"
            path.write_text(self.config)
            extra = ["--config", str(path)]
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "collab", "serve", "--demo", *extra,
            "--port", str(self.port), "--data-dir", str(self.data_dir),
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=self._log.open("ab"),
        )
        async with httpx.AsyncClient() as http, asyncio.timeout(30):
            while True:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"collab serve exited with {self.proc.returncode}")
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)

    def log_text(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
