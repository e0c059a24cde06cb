"""Small clients for the event transports: an SSE line parser and retried conditions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import httpx

from tests.support.server import RunningHub


async def sse_messages(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    """Yield each SSE message as its fields; a comment line comes as ``{"comment": ...}``."""
    message: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if message:
                yield message
                message = {}
            continue
        if line.startswith(":"):
            yield {"comment": line[1:].strip()}
            continue
        name, _, value = line.partition(":")
        message[name] = value[1:] if value.startswith(" ") else value


async def until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Retry ``condition`` until it holds (a retried condition, not a sleep barrier)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def subscribers(hub: RunningHub) -> float:
    value = hub.ctx.metrics.registry.get_sample_value("collab_event_subscribers")
    return value or 0.0
