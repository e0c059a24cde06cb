"""One sync WebSocket: its bounded outbound queue, its writer and its rate limit.

Outbound frames wait in three lanes, sent in priority order: control, sync, awareness.
Awareness is coalesced per client id (only the newest state waits) and is the first thing
dropped when the queue reaches ``limits.outbound_queue_bytes``; when sync or control frames
alone would exceed it, the consumer is too slow and is closed with 1013.

Frames are sent synchronously while the socket accepts them (see ``Connection._pump``); only
a send that would block goes to a writer task. Broadcasting is a few appends and writes,
never a task per message per recipient.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
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


async def _awaiting(awaitable: Awaitable[None]) -> None:
    await awaitable


class Connection:
    __slots__ = (
        "_aw",
        "_busy",
        "_close",
        "_close_sent",
        "_ctl",
        "_sync",
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
        "send_now",
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
        #: The server's synchronous send, when it has one (collab's own WebSocket protocol:
        #: ``send_now(message) -> bool``): an idle socket's message then costs no coroutine.
        self.send_now: Callable[[dict[str, Any]], bool] | None = getattr(
            getattr(send, "__self__", None), "send_now", None
        )
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
        # Lanes exist only while something waits in them: an idle socket keeps no deques.
        self._ctl: deque[bytes] | None = None
        self._sync: deque[bytes] | None = None
        self._aw: dict[int, bytes] = {}
        self._close: tuple[int, str] | None = None
        self._close_sent = False
        self._busy = False
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
            if self._ctl is None:
                self._ctl = deque()
            self._ctl.append(frame)
            self.queued_bytes += len(frame)
            self._kick()

    def push_sync(self, frame: bytes, message: dict[str, Any] | None = None) -> None:
        """Queue a sync frame; ``message`` is its prebuilt ASGI send message (one dict shared by
        every recipient of a broadcast)."""
        if (
            self._sync is None
            and self._ctl is None
            and not self._aw
            and not self._busy
            and self._close is None
            and len(frame) <= self.queue_limit
        ):
            # An idle socket (the common case): straight to the transport, nothing queued.
            self._step(message if message is not None else {"type": "websocket.send", "bytes": frame})
            return
        if self._admit(len(frame)):
            if self._sync is None:
                self._sync = deque()
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
        self._ctl = self._sync = None
        if self.room is not None:  # counted here so every reason (slow, flood, reset) shows
            self.room.registry.stats.closed(int(code))
        self._aw.clear()
        self.queued_bytes = 0
        self._kick()

    def _kick(self) -> None:
        if not self._busy:
            self._pump()
        # else: the writer task is finishing a send that blocked; it drains the lanes after it.

    def _next(self) -> dict[str, Any] | None:
        """The next ASGI message by priority: control, sync, awareness, then the close frame."""
        if self._ctl:
            frame = self._ctl.popleft()
        elif self._sync:
            frame = self._sync.popleft()
        elif self._aw:
            frame = self._aw.pop(next(iter(self._aw)))
        elif self._close is not None and not self._close_sent:
            self._close_sent = True
            code, reason = self._close
            return {"type": "websocket.close", "code": code, "reason": reason}
        else:
            return None
        self.queued_bytes -= len(frame)
        return {"type": "websocket.send", "bytes": frame}

    def _pump(self) -> None:
        """Send now, synchronously, while the socket accepts.

        The WebSocket protocol's ``send`` only suspends when the transport is paused (the
        client reads too slowly). We step the coroutine by hand; one that suspends is handed
        to a writer task, which finishes it and then drains the lanes with ordinary awaits.
        So the common case costs no task switch per message, and backpressure still works.
        """
        while (message := self._next()) is not None:
            if not self._step(message):
                return
        self._ctl = self._sync = None  # drained: drop the empty lanes

    def _step(self, message: dict[str, Any]) -> bool:
        """Send one message; True when it went out without suspending."""
        send_now = self.send_now
        if send_now is not None and send_now(message):
            return True
        result = self.send(message)
        coro = result if isinstance(result, Coroutine) else _awaiting(result)
        try:
            yielded = coro.send(None)
        except StopIteration:
            return True
        except (OSError, RuntimeError) as exc:
            self._gone(exc)
            return False
        self._busy = True
        self._writer = asyncio.get_running_loop().create_task(self._finish(coro, yielded))
        return False

    async def _finish(self, coro: Coroutine[Any, Any, None], yielded: Any) -> None:
        try:
            while True:
                if isinstance(yielded, asyncio.Future):
                    yielded._asyncio_future_blocking = False  # what Task.__step would do
                    await asyncio.wait([yielded])
                else:
                    await asyncio.sleep(0)  # a bare yield
                try:
                    yielded = coro.send(None)
                except StopIteration:
                    break
            while (message := self._next()) is not None:
                await self.send(message)
        except (OSError, RuntimeError) as exc:
            self._gone(exc)
        finally:
            coro.close()
            self._busy = False

    def _gone(self, exc: BaseException) -> None:
        # The peer went away under us; the receive loop sees the disconnect and cleans up.
        log.debug("connection %s: send failed: %s", self.id, exc)
        self._close = self._close or (CloseCode.GOING_AWAY, "gone")
        self._close_sent = True
        self._ctl = self._sync = None
        self._aw.clear()
        self.queued_bytes = 0

    async def finish(self) -> None:
        """After the socket is gone: stop the writer."""
        writer, self._writer = self._writer, None
        if writer is not None and not writer.done():
            writer.cancel()
            # wait() never raises the writer's CancelledError but still propagates our own.
            await asyncio.wait([writer])
