"""One sync WebSocket: its bounded outbound queue, its writer and its rate limit.

Outbound frames wait in three lanes, sent in priority order: control, sync, awareness.
Awareness is coalesced per client id (only the newest state waits) and is the first thing
dropped when the queue reaches ``limits.outbound_queue_bytes``; when sync or control frames
alone would exceed it, the consumer is too slow and is closed with 1013.

One writer task per connection drains the lanes (uvicorn's ``send`` may wait on a slow
socket; nobody else ever awaits it), so broadcasting is a few appends, never a task per
message per recipient.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from collab.auth.principal import Principal
from collab.errors import CloseCode
from collab.protocol.origin import Origin, OriginKind

if TYPE_CHECKING:
    from collab.rooms.room import Room

__all__ = ["AWAITING_STEP1", "RESETTING", "SYNCED", "Connection"]

log = logging.getLogger("collab.sync")

Send = Callable[[dict[str, Any]], Awaitable[None]]

#: Connection states: updates are refused before the client's sync step 1, dropped while a
#: reset is pending (the client may still send history we told it to drop), applied once synced.
AWAITING_STEP1 = 0
RESETTING = 1
SYNCED = 2


class Connection:
    __slots__ = (
        "_aw",
        "_close",
        "_ctl",
        "_sync",
        "_wake",
        "_writer",
        "bytes_in",
        "client_ids",
        "control",
        "drops",
        "id",
        "last_recv",
        "opened",
        "origin",
        "principal",
        "queue_limit",
        "queued_bytes",
        "rate",
        "burst",
        "room",
        "send",
        "seq",
        "state",
        "tokens",
        "tokens_at",
    )

    def __init__(
        self,
        conn_id: str,
        principal: Principal,
        send: Send,
        *,
        control: bool,
        queue_limit: int,
        rate: float,
        burst: int,
    ) -> None:
        self.id = conn_id
        self.principal = principal
        self.control = control
        self.send = send
        self.origin = Origin(OriginKind.CLIENT, conn_id, principal.sub)
        self.room: Room | None = None
        self.state = AWAITING_STEP1
        #: Update / step 2 messages received so far (what ``Stored.seq`` counts).
        self.seq = 0
        self.client_ids: set[int] = set()
        now = time.monotonic()
        self.opened = now
        self.last_recv = now
        self.bytes_in = 0
        self.drops = 0
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.tokens_at = now
        self.queue_limit = queue_limit
        self.queued_bytes = 0
        self._ctl: deque[bytes] = deque()
        self._sync: deque[bytes] = deque()
        self._aw: dict[int, bytes] = {}
        self._close: tuple[int, str] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    # -- inbound ---------------------------------------------------------------------------

    def take_token(self, now: float) -> bool:
        """Token bucket: ``rate`` messages per second sustained, ``burst`` at once."""
        tokens = self.tokens + (now - self.tokens_at) * self.rate
        self.tokens_at = now
        if tokens > self.burst:
            tokens = self.burst
        if tokens < 1.0:
            self.tokens = tokens
            return False
        self.tokens = tokens - 1.0
        return True

    @property
    def closing(self) -> bool:
        return self._close is not None

    # -- outbound --------------------------------------------------------------------------

    def push_control(self, frame: bytes) -> None:
        if self._admit(len(frame)):
            self._ctl.append(frame)
            self.queued_bytes += len(frame)
            self._kick()

    def push_sync(self, frame: bytes) -> None:
        if self._admit(len(frame)):
            self._sync.append(frame)
            self.queued_bytes += len(frame)
            self._kick()

    def push_awareness(self, key: int, frame: bytes) -> None:
        if self._close is not None:
            return
        old = self._aw.pop(key, None)
        if old is not None:
            self.queued_bytes -= len(old)
        if self.queued_bytes + len(frame) > self.queue_limit:
            self.drops += 1
            return
        self._aw[key] = frame
        self.queued_bytes += len(frame)
        self._kick()

    def _admit(self, size: int) -> bool:
        if self._close is not None:
            return False
        if self.queued_bytes + size <= self.queue_limit:
            return True
        if self._aw:
            # Awareness goes first: it is only presence and the next update replaces it.
            self.drops += len(self._aw)
            self.queued_bytes -= sum(map(len, self._aw.values()))
            self._aw.clear()
            if self.queued_bytes + size <= self.queue_limit:
                return True
        self.close(CloseCode.TRY_AGAIN, "client too slow: outbound queue full")
        return False

    def close(self, code: int, reason: str) -> None:
        """Drop everything queued, send a close frame next. Idempotent."""
        if self._close is not None:
            return
        self._close = (int(code), reason[:120])
        self._ctl.clear()
        self._sync.clear()
        self._aw.clear()
        self.queued_bytes = 0
        self._kick()

    def _kick(self) -> None:
        wake = self._wake
        if wake is not None:
            self._wake = None
            if not wake.done():
                wake.set_result(None)
        elif self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def _write_loop(self) -> None:
        send = self.send
        loop = asyncio.get_running_loop()
        try:
            while True:
                if self._ctl:
                    frame = self._ctl.popleft()
                elif self._sync:
                    frame = self._sync.popleft()
                elif self._aw:
                    frame = self._aw.pop(next(iter(self._aw)))
                elif self._close is not None:
                    code, reason = self._close
                    await send({"type": "websocket.close", "code": code, "reason": reason})
                    return
                else:
                    self._wake = loop.create_future()
                    await self._wake
                    continue
                self.queued_bytes -= len(frame)
                await send({"type": "websocket.send", "bytes": frame})
        except (OSError, RuntimeError) as exc:
            # The peer went away under us; the receive loop sees the disconnect and cleans up.
            log.debug("connection %s: send failed: %s", self.id, exc)
            self._close = self._close or (CloseCode.GOING_AWAY, "gone")

    async def finish(self) -> None:
        """After the socket is gone: stop the writer."""
        writer, self._writer = self._writer, None
        if writer is not None and not writer.done():
            writer.cancel()
            # wait() never raises the writer's CancelledError but still propagates our own.
            await asyncio.wait([writer])
