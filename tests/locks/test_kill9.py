"""Lock state and the audit chain survive kill -9 of a real ``collab serve --demo`` process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from collab.cli import main
from tests.locks.support import KEYS, bearer, eventually
from tests.support.server import free_port

RECORD = f"/api/records/Sales/Invoices/{KEYS[4]}"


@contextmanager
def serve(data: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLAB_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "collab", "serve", "--demo", "--port", str(port), "--data-dir", str(data)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


async def _up(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/healthz")).status_code == 200
    except httpx.TransportError:
        return False


async def test_state_survives_kill_9(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    script = {"X-API-Key": "demo-api-key"}  # what --demo uses when COLLAB_API_KEY is unset
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
        with serve(data, port) as process:
            await eventually(lambda: _up(client), bool, timeout=30)
            minted = await client.post("/api/tokens", headers=script, json={"user": "ed", "roles": ["editor"], "records": ["Sales/*"]})
            ed = bearer(minted.json()["token"])
            assert (await client.post(f"{RECORD}/lease", headers=ed)).status_code == 200
            assert (await client.post(f"{RECORD}/approval/submit", headers=ed)).status_code == 200
            assert (await client.post(f"{RECORD}/lease", headers=ed)).json()["code"] == "wrong_state"
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        with serve(data, port):
            await eventually(lambda: _up(client), bool, timeout=30)
            state = (await client.get(f"{RECORD}/lock", headers=ed)).json()
            assert state["state"] == "submitted" and state["epoch"] == 2 and state["submitted_by"] == "ed"
            audit = (await client.get(f"{RECORD}/audit", headers=ed)).json()
            assert audit["chain_ok"] and [e["action"] for e in audit["entries"]] == ["lease", "submit"]
            assert await asyncio.to_thread(main, ["audit", "verify", "--data-dir", str(data)]) == 0
