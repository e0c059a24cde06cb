"""Data API sessions: random tokens bound to one database, 15 minutes of idle life.

Every call that uses a token resets its timer (reference section 4). Time comes from the
emulator's clock, which tests move with ``advance_clock``. A session also holds the
global field values set through ``/globals`` (they are session-scoped).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collab.filemaker.emulator.codes import FMError

__all__ = ["IDLE_SECONDS", "Session", "Sessions"]

IDLE_SECONDS = 15 * 60.0


@dataclass
class Session:
    token: str
    database: str
    account: str
    last_used: float
    #: "Table::field" -> stored value, for global fields.
    globals: dict[str, Any] = field(default_factory=dict)


class Sessions:
    def __init__(self, now: Callable[[], float], *, cap: int | None = None) -> None:
        self._now = now
        self._by_token: dict[str, Session] = {}
        self.cap = cap

    def _purge(self) -> None:
        now = self._now()
        for token in [t for t, s in self._by_token.items() if now - s.last_used >= IDLE_SECONDS]:
            del self._by_token[token]

    def open(self, database: str, account: str) -> Session:
        self._purge()
        if self.cap is not None and len(self._by_token) >= self.cap:
            raise FMError("956")
        session = Session(secrets.token_hex(20), database, account, self._now())
        self._by_token[session.token] = session
        return session

    def use(self, token: str | None, database: str) -> Session:
        """The live session for ``token`` on ``database`` (names are case-sensitive), or 952."""
        self._purge()
        session = self._by_token.get(token or "")
        if session is None or session.database != database:
            raise FMError("952")
        session.last_used = self._now()
        return session

    def close(self, token: str, database: str) -> None:
        self.use(token, database)
        del self._by_token[token]

    def kill_all(self) -> int:
        count = len(self._by_token)
        self._by_token.clear()
        return count

    def live(self) -> list[Session]:
        self._purge()
        return list(self._by_token.values())
