"""Prometheus metrics, one registry per app (tests build many apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connections = Gauge("collab_connections", "Open sync WebSocket connections", registry=r)
        self.rooms = Gauge("collab_rooms", "Loaded rooms (records)", registry=r)
        self.messages_in = Counter("collab_messages_in_total", "Messages received", ["kind"], registry=r)
        self.messages_out = Counter("collab_messages_out_total", "Messages sent", ["kind"], registry=r)
        self.bytes_in = Counter("collab_bytes_in_total", "Bytes received on sync sockets", registry=r)
        self.bytes_out = Counter("collab_bytes_out_total", "Bytes sent on sync sockets", registry=r)
        self.queue_drops = Counter(
            "collab_queue_drops_total", "Outbound messages dropped", ["kind"], registry=r
        )
        self.closes = Counter("collab_closes_total", "Connections closed by the hub", ["code"], registry=r)
        self.store_commit = Histogram(
            "collab_store_commit_seconds",
            "Store commit latency (one group commit)",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=r,
        )
        self.fm_requests = Counter(
            "collab_filemaker_requests_total", "Data API calls", ["outcome"], registry=r
        )
        self.fm_logins = Counter("collab_filemaker_logins_total", "Data API logins", registry=r)
        self.writeback_pending = Gauge(
            "collab_writeback_pending", "Records waiting to be written to FileMaker", registry=r
        )
        self.writeback_latency = Histogram(
            "collab_writeback_seconds", "First unsaved edit to FileMaker accepting it", registry=r
        )
        self.events = Counter("collab_events_total", "Events recorded", ["type"], registry=r)
        self.event_subscribers = Gauge(
            "collab_event_subscribers", "SSE/long-poll/WebSocket event consumers", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
