"""Helpers for the lock tests: people with tokens, HTTP calls, FileMaker reads, retried waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from collab.auth.tokens import mint_token
from collab.settings import Settings

T = TypeVar("T")

KEYS = [f"8D1F5E2A-{n:04d}-4000-8000-{n:012d}" for n in range(1, 9)]  # demo invoices 1001-1008
BASE = "/api/records/Sales/Invoices"


def token(settings: Settings, sub: str, *roles: str, records: tuple[str, ...] = ("Sales/Invoices/*",)) -> str:
    return mint_token(settings.server.secret, sub=sub, name=sub.title(), roles=roles, records=records, ttl_seconds=3600)


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


async def eventually(probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool], timeout: float = 10.0) -> T:
    """Retry ``probe`` until ``ok(result)``; fail with the last result after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if ok(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last: {result!r}")
        await asyncio.sleep(0.05)


async def fm_record(client: httpx.AsyncClient, key: str) -> dict[str, Any]:
    """The record as FileMaker (the emulator) holds it, through the Data API."""
    login = await client.post(
        "/fmi/data/vLatest/databases/Sales/sessions", auth=("admin", "admin"), json={}
    )
    fm_token = login.json()["response"]["token"]
    try:
        found = await client.post(
            "/fmi/data/vLatest/databases/Sales/layouts/Invoices/_find",
            json={"query": [{"UUID": f"=={key}"}]},
            headers={"Authorization": f"Bearer {fm_token}"},
        )
        data: dict[str, Any] = found.json()["response"]["data"][0]["fieldData"]
        return data
    finally:
        await client.delete(f"/fmi/data/vLatest/databases/Sales/sessions/{fm_token}")


async def handshake_outcome(url: str, origin: str | None = None) -> tuple[int | None, int]:
    """Connect, send nothing, read until the hub closes: (close code, frames received).

    Frames received before the close are document bytes the hub sent (sync step 1 at least),
    so a refused handshake must show 0.
    """
    import websockets
    from websockets.typing import Origin

    kwargs: dict[str, Any] = {"max_size": None, "compression": None, "open_timeout": 10}
    if origin is not None:
        kwargs["origin"] = Origin(origin)
    frames = 0
    try:
        async with websockets.connect(url, **kwargs) as ws:
            try:
                async with asyncio.timeout(5):
                    async for _ in ws:
                        frames += 1
                        return None, frames  # the hub sent document bytes: it let the socket in
            except websockets.ConnectionClosed:
                pass
            except TimeoutError:
                return None, frames  # neither closed nor greeted within 5 s
            return ws.close_code, frames
    except websockets.InvalidStatus as exc:  # refused at the HTTP upgrade
        return exc.response.status_code, frames
