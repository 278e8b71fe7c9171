"""The Prometheus series of one method on the server, their label children looked up once."""

from __future__ import annotations

import time
from typing import Any

import grpc

from mesh.observability.metrics import GRPC_CODE_LABELS, RpcMetrics
from mesh.rpc import RpcInfo


class MethodSeries:
    """go-grpc-prometheus's server metrics of one method; a series appears the first time it
    counts, as it would with `labels()` called on each use."""

    __slots__ = ("_handled", "_labels", "_metrics", "_received", "_seconds", "_sent", "_started")

    def __init__(self, metrics: RpcMetrics, info: RpcInfo) -> None:
        self._metrics = metrics
        self._labels = (info.grpc_type, info.service, info.method)
        self._started: Any = None
        self._received: Any = None
        self._sent: Any = None
        self._seconds: Any = None
        self._handled: dict[grpc.StatusCode, Any] = {}

    def started(self) -> float:
        """Counts the call in and returns its start on the clock `finished` reads."""
        if self._started is None:
            self._started = self._metrics.started.labels(*self._labels)
        self._started.inc()
        return time.perf_counter()

    def received(self) -> None:
        if self._received is None:
            self._received = self._metrics.msg_received.labels(*self._labels)
        self._received.inc()

    def sent(self) -> None:
        if self._sent is None:
            self._sent = self._metrics.msg_sent.labels(*self._labels)
        self._sent.inc()

    def finished(self, code: grpc.StatusCode, started: float) -> None:
        handled = self._handled.get(code)
        if handled is None:
            handled = self._handled[code] = self._metrics.handled.labels(
                *self._labels, GRPC_CODE_LABELS[code]
            )
        handled.inc()
        if self._seconds is None:
            self._seconds = self._metrics.handling_seconds.labels(*self._labels)
        self._seconds.observe(time.perf_counter() - started)
