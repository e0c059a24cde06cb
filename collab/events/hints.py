"""Activity per record, layout and user, and the polling hint derived from it.

A FileMaker script loop polls fast only when it matters: ``poll_after_ms`` is the minimum
while the record (or filter) saw activity in the last few seconds and doubles for every
``_DOUBLING_SECONDS`` of quiet, up to the maximum.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable

from collab.settings import EventSettings

__all__ = ["Activity"]

_DOUBLING_SECONDS = 15.0
#: Bounded: the least recently active keys are forgotten (they count as idle).
_MAX_KEYS = 20_000


class Activity:
    def __init__(self, settings: EventSettings) -> None:
        self.min_ms = settings.poll_after_min_ms
        self.max_ms = max(settings.poll_after_max_ms, settings.poll_after_min_ms)
        self._last: OrderedDict[str, float] = OrderedDict()
        self._started = time.monotonic()

    def touch(self, *keys: str) -> None:
        moment = time.monotonic()
        for key in keys:
            self._last[key] = moment
            self._last.move_to_end(key)
        while len(self._last) > _MAX_KEYS:
            self._last.popitem(last=False)

    def touch_record(self, record: str | None, layout: str | None, users: Iterable[str] = ()) -> None:
        keys = ["*"]
        if record is not None:
            keys.append(f"record:{record}")
        if layout is not None:
            keys.append(f"layout:{layout}")
        keys.extend(f"user:{user}" for user in users if user)
        self.touch(*keys)

    def idle_seconds(self, key: str) -> float:
        last = self._last.get(key)
        if last is None:
            # Never active since start: treat as idle since start, so a fresh hub slows down too.
            return time.monotonic() - self._started + _DOUBLING_SECONDS * 8
        return time.monotonic() - last

    def poll_after_ms(self, key: str) -> int:
        idle = self.idle_seconds(key)
        if idle <= _DOUBLING_SECONDS:
            return self.min_ms
        factor = 2.0 ** min(20.0, (idle - _DOUBLING_SECONDS) / _DOUBLING_SECONDS)
        return int(min(self.max_ms, self.min_ms * factor))
