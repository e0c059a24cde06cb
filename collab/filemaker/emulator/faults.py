"""Fault injection state and the bounded call log tests count calls with."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["CallEntry", "CallLog", "Faults", "Outage"]

Outage = Literal["502", "refused"]


@dataclass(frozen=True)
class CallEntry:
    seq: int
    time: float
    method: str
    path: str
    #: What the call was: login, logout, create, edit, delete, duplicate, get, range, find,
    #: script, globals, upload, metadata, layouts, scripts, databases, productInfo, unknown.
    action: str
    status: int
    code: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class CallLog:
    """The last ``size`` Data API calls, oldest first."""

    def __init__(self, size: int = 2000) -> None:
        self._entries: deque[CallEntry] = deque(maxlen=size)
        self._seq = 0

    def add(self, time: float, method: str, path: str, action: str, status: int, code: str) -> None:
        self._seq += 1
        self._entries.append(CallEntry(self._seq, time, method, path, action, status, code))

    def entries(self, since: int = 0, action: str | None = None) -> list[CallEntry]:
        return [e for e in self._entries if e.seq > since and (action is None or e.action == action)]

    def count(self, action: str | None = None, *, method: str | None = None, since: int = 0) -> int:
        return sum(1 for e in self.entries(since, action) if method is None or e.method == method)

    @property
    def last_seq(self) -> int:
        return self._seq

    def clear(self) -> None:
        self._entries.clear()


@dataclass
class Faults:
    outage: Outage | None = None
    #: time.monotonic() at which the outage ends by itself (None: until cleared).
    outage_until: float | None = None
    #: "refused" with the listening socket closed (real ECONNREFUSED, TCP front only).
    outage_hard: bool = False
    stall_seconds: float = 0.0
    fail_count: int = 0
    fail_code: str = "951"
    fail_http_status: int = 500

    def take_failure(self) -> tuple[str, int] | None:
        if self.fail_count <= 0:
            return None
        self.fail_count -= 1
        return self.fail_code, self.fail_http_status

    def current_outage(self) -> Outage | None:
        """The outage in force now (a timed one ends by itself)."""
        if self.outage_until is not None and time.monotonic() >= self.outage_until:
            self.outage, self.outage_until, self.outage_hard = None, None, False
        return self.outage

    def clear(self) -> None:
        self.outage, self.outage_until, self.outage_hard = None, None, False
        self.stall_seconds = 0.0
        self.fail_count = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "outage": self.current_outage(),
            "outageSecondsLeft": None if self.outage_until is None else max(0.0, self.outage_until - time.monotonic()),
            "outageHard": self.outage_hard,
            "stallSeconds": self.stall_seconds,
            "failNext": {"count": self.fail_count, "code": self.fail_code, "httpStatus": self.fail_http_status},
        }
