"""Prometheus metrics of the Socket.IO rooms, registered on the registry the edge exposes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class RealtimeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry if registry is not None else CollectorRegistry()
        self.connections = Gauge(
            "socketio_connections", "Socket.IO clients connected", registry=registry
        )
        self.rooms = Gauge("socketio_rooms", "Socket.IO rooms with members", registry=registry)
        self.upstream_streams = Gauge(
            "socketio_upstream_streams",
            "gRPC server streams open for Socket.IO rooms",
            registry=registry,
        )
        # By room pattern (`quotes:{symbols}`), never by room: symbols and ids are unbounded.
        self.events_emitted = Counter(
            "socketio_events_emitted_total",
            "Room events emitted (once per room, whatever its size)",
            ["pattern"],
            registry=registry,
        )
        self.upstream_retries = Counter(
            "socketio_upstream_retries_total",
            "Upstream streams of rooms reopened after a failure",
            registry=registry,
        )
