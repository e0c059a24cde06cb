"""Drive official yjs / y-websocket clients (tests/js/client.mjs) from tests."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

__all__ = ["NodeClients", "node_available"]

JS_DIR = Path(__file__).resolve().parent.parent / "js"


def node_available() -> bool:
    return shutil.which("node") is not None and (JS_DIR / "node_modules" / "y-websocket").is_dir()


requires_node = pytest.mark.skipif(not node_available(), reason="run `npm ci` in tests/js first")


class NodeClients:
    """One Node process holding any number of y-websocket clients."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self._req = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> NodeClients:
        self.proc = await asyncio.create_subprocess_exec(
            "node", str(JS_DIR / "client.mjs"),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=str(JS_DIR),
            limit=64 * 1024 * 1024,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            await asyncio.wait([self._reader])

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            msg = json.loads(line)
            req = msg.get("req")
            if req is not None and req in self._waiting:
                self._waiting.pop(req).set_result(msg)
            elif "event" in msg:
                self.events.append(msg)

    async def call(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        self._req += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[self._req] = future
        self.proc.stdin.write((json.dumps({"req": self._req, "op": op, **args}) + "\n").encode())
        await self.proc.stdin.drain()
        reply = await asyncio.wait_for(future, 20)
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error"))
        return reply

    def synced(self, client_id: str) -> bool:
        return any(e["event"] == "synced" and e["id"] == client_id for e in self.events)

    def closes(self, client_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == "close" and e["id"] == client_id]

    async def state(self, client_id: str, texts: list[str]) -> dict[str, Any]:
        reply = await self.call("state", id=client_id, texts=texts)
        reply["update"] = base64.b64decode(reply["update"])
        return reply
