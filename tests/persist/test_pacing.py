"""Token buckets and backoff: the numbers the fault matrix relies on."""

from __future__ import annotations

import asyncio
import random

from collab.persist.pacing import Backoff, TokenBucket


def test_backoff_stays_within_bounds_and_grows() -> None:
    backoff = Backoff(500, 30_000, rng=random.Random(7))
    delays = [[backoff.delay(n) for _ in range(200)] for n in range(1, 12)]
    assert all(0.5 <= d <= 30.0 for row in delays for d in row)
    assert max(delays[0]) <= 0.5 and min(delays[-1]) >= 15.0  # capped, jittered in the upper half
    assert len({round(d, 3) for d in delays[5]}) > 50  # jitter: retries do not line up


def test_bucket_allows_its_rate_and_no_more() -> None:
    now = [100.0]
    bucket = TokenBucket(2.0, clock=lambda: now[0])
    assert bucket.delay() == 0.0
    bucket._tokens -= 1  # one request taken
    assert 0.49 < bucket.delay() <= 0.5
    now[0] += 0.5
    assert bucket.delay() == 0.0
    now[0] += 60  # idle for a minute: the burst stays one request
    bucket._refill()
    assert bucket._tokens == 1.0


async def test_acquire_paces_callers() -> None:
    bucket = TokenBucket(50.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(6):
        await bucket.acquire()
    assert loop.time() - started >= 5 / 50 - 0.01
