"""In-process Bus: fan-out to bounded per-subscriber queues (oldest dropped when full)."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

__all__ = ["MemoryBus"]


class MemoryBus:
    def __init__(self, *, max_backlog: int = 1000) -> None:
        self.instance_id = uuid.uuid4().hex
        self.max_backlog = max_backlog
        self._subscribers: dict[str, set[asyncio.Queue[tuple[str, bytes] | None]]] = defaultdict(set)
        self.dropped = 0

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for queues in self._subscribers.values():
            for q in queues:
                self._put(q, None)
        self._subscribers.clear()

    async def publish(self, topic: str, data: bytes) -> None:
        for q in list(self._subscribers.get(topic, ())):
            self._put(q, (self.instance_id, data))

    def _put(self, q: asyncio.Queue[tuple[str, bytes] | None], item: tuple[str, bytes] | None) -> None:
        while True:
            try:
                q.put_nowait(item)
                return
            except asyncio.QueueFull:
                q.get_nowait()  # dropleft: a slow subscriber loses the oldest message
                self.dropped += 1

    def subscribe(self, topic: str) -> AsyncIterator[tuple[str, bytes]]:
        # Register now, not at the first iteration, so nothing published after this call is missed.
        q: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue(self.max_backlog)
        self._subscribers[topic].add(q)
        return self._iterate(topic, q)

    async def _iterate(
        self, topic: str, q: asyncio.Queue[tuple[str, bytes] | None]
    ) -> AsyncIterator[tuple[str, bytes]]:
        try:
            while True:
                item = await q.get()
                if item is None:
                    return
                yield item
        finally:
            self._subscribers.get(topic, set()).discard(q)
