"""Hot-path counters as plain integers, pushed into Prometheus in batches.

A prometheus-client ``inc()`` takes a lock; per delivered update that is measurable. The sync
path bumps these attributes and :meth:`SyncStats.publish` moves the deltas into the metrics
(once a second from the sweeper, and before every ``/metrics`` render).
"""

from __future__ import annotations

from collab.metrics import Metrics

__all__ = ["SyncStats"]


class SyncStats:
    __slots__ = (
        "_published",
        "bytes_in",
        "bytes_out",
        "denied",
        "messages_in",
        "messages_out",
        "metrics",
    )

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.messages_in = 0
        self.bytes_in = 0
        self.messages_out = 0
        self.bytes_out = 0
        self.denied = 0
        self._published = (0, 0, 0, 0)

    def rooms(self, count: int) -> None:
        self.metrics.rooms.set(count)

    def closed(self, code: int) -> None:
        self.metrics.closes.labels(str(code)).inc()

    def dropped(self, kind: str, count: int) -> None:
        if count:
            self.metrics.queue_drops.labels(kind).inc(count)

    def publish(self) -> None:
        now = (self.messages_in, self.bytes_in, self.messages_out, self.bytes_out)
        before = self._published
        self._published = now
        m = self.metrics
        if now[0] > before[0]:
            m.messages_in.labels("sync").inc(now[0] - before[0])
        if now[1] > before[1]:
            m.bytes_in.inc(now[1] - before[1])
        if now[2] > before[2]:
            m.messages_out.labels("sync").inc(now[2] - before[2])
        if now[3] > before[3]:
            m.bytes_out.inc(now[3] - before[3])
