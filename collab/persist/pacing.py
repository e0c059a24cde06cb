"""How fast the hub may talk to FileMaker: token buckets and jittered exponential backoff."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

__all__ = ["Backoff", "TokenBucket"]


class TokenBucket:
    """``rate`` requests per second with a burst of ``burst``; :meth:`acquire` waits its turn.

    Waiters are served in arrival order (one lock), so a busy record cannot starve the others
    sharing the total bucket.
    """

    __slots__ = ("_clock", "_lock", "_stamp", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float = 1.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst)
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def delay(self) -> float:
        """Seconds until a token is available (0 when one is)."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    async def acquire(self) -> None:
        async with self._lock:
            while (wait := self.delay()) > 0:
                await asyncio.sleep(wait)  # pacing, not a barrier: the bucket refills with time
            self._tokens -= 1


class Backoff:
    """Capped exponential backoff with jitter: attempt n waits within [initial, max] seconds.

    The nominal delay doubles from ``initial``; the actual one is drawn from the upper half of it
    (never below ``initial``), so retries of many records spread out instead of arriving together.
    """

    def __init__(self, initial_ms: int, max_ms: int, *, rng: random.Random | None = None) -> None:
        self.initial = max(0.001, initial_ms / 1000.0)
        self.max = max(self.initial, max_ms / 1000.0)
        self._rng = rng or random.Random()

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1 = the first retry)."""
        nominal = min(self.max, self.initial * (2 ** max(0, attempt - 1)))
        return max(self.initial, self._rng.uniform(nominal / 2, nominal))
