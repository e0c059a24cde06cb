"""Sockets do not outlive their tokens.

A token is checked at the handshake; a socket can stay open for hours after that. Every
``interval`` seconds this closes (1008) every connection whose token has expired (past the
same leeway verification allows), so an expired or rotated-out token stops working on live
sockets too, within a few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from collab.auth.tokens import LEEWAY_SECONDS
from collab.context import HubContext
from collab.errors import CloseCode

__all__ = ["ExpiryWatcher"]

log = logging.getLogger("collab.auth")


class ExpiryWatcher:
    def __init__(self, ctx: HubContext, *, interval: float = 2.0, clock: Callable[[], float] = time.time) -> None:
        self.ctx = ctx
        self.interval = interval
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="collab-token-expiry")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.sweep()
            except Exception:
                log.exception("token expiry sweep failed")

    def sweep(self) -> int:
        """Close every live connection whose token has expired; return how many."""
        rooms = self.ctx.rooms
        if rooms is None:
            return 0
        deadline = self.clock() - LEEWAY_SECONDS
        closed = 0
        for room in list(rooms.all_loaded()):
            for conn in list(room.connections):
                exp = getattr(conn.principal, "exp", 0)
                close: Any = getattr(conn, "close", None)
                if exp and exp < deadline and close is not None and not getattr(conn, "closing", False):
                    log.info("closing connection %s of %s: token expired", conn.id, conn.principal.sub)
                    close(CloseCode.POLICY, "token expired: reconnect with a new token")
                    closed += 1
        return closed
