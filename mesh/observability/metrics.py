"""Prometheus metrics of RPCs on either side, named as go-grpc-prometheus names them."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

import grpc
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from mesh.rpc import RpcInfo

# The grpc_code label holds the code as Go's codes.Code.String() spells it, so dashboards
# and alerts written for go-grpc-prometheus (grpc_code="Unavailable") work unchanged.
GRPC_CODE_LABELS: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.OK: "OK",
    grpc.StatusCode.CANCELLED: "Canceled",
    grpc.StatusCode.UNKNOWN: "Unknown",
    grpc.StatusCode.INVALID_ARGUMENT: "InvalidArgument",
    grpc.StatusCode.DEADLINE_EXCEEDED: "DeadlineExceeded",
    grpc.StatusCode.NOT_FOUND: "NotFound",
    grpc.StatusCode.ALREADY_EXISTS: "AlreadyExists",
    grpc.StatusCode.PERMISSION_DENIED: "PermissionDenied",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "ResourceExhausted",
    grpc.StatusCode.FAILED_PRECONDITION: "FailedPrecondition",
    grpc.StatusCode.ABORTED: "Aborted",
    grpc.StatusCode.OUT_OF_RANGE: "OutOfRange",
    grpc.StatusCode.UNIMPLEMENTED: "Unimplemented",
    grpc.StatusCode.INTERNAL: "Internal",
    grpc.StatusCode.UNAVAILABLE: "Unavailable",
    grpc.StatusCode.DATA_LOSS: "DataLoss",
    grpc.StatusCode.UNAUTHENTICATED: "Unauthenticated",
}

_LABELS = ("grpc_type", "grpc_service", "grpc_method")


@dataclass(frozen=True, slots=True)
class RpcMetrics:
    """The five metrics of one side (server or client) in one registry."""

    started: Counter
    handled: Counter
    handling_seconds: Histogram
    msg_received: Counter
    msg_sent: Counter

    @classmethod
    def create(cls, side: str, registry: CollectorRegistry) -> RpcMetrics:
        peer = "client" if side == "server" else "server"
        return cls(
            started=Counter(
                f"grpc_{side}_started_total",
                f"Total number of RPCs started on the {side}.",
                _LABELS,
                registry=registry,
            ),
            handled=Counter(
                f"grpc_{side}_handled_total",
                f"Total number of RPCs completed on the {side}, regardless of success or failure.",
                (*_LABELS, "grpc_code"),
                registry=registry,
            ),
            handling_seconds=Histogram(
                f"grpc_{side}_handling_seconds",
                f"Histogram of response latency (seconds) of gRPC that had been "
                f"application-level handled by the {side}.",
                _LABELS,
                registry=registry,
            ),
            msg_received=Counter(
                f"grpc_{side}_msg_received_total",
                f"Total number of RPC stream messages received by the {side} from the {peer}.",
                _LABELS,
                registry=registry,
            ),
            msg_sent=Counter(
                f"grpc_{side}_msg_sent_total",
                f"Total number of gRPC stream messages sent by the {side} to the {peer}.",
                _LABELS,
                registry=registry,
            ),
        )


# A registry refuses a second metric of the same name, so each registry gets one set,
# shared by every interceptor built for it.
_server_metrics: weakref.WeakKeyDictionary[CollectorRegistry, RpcMetrics] = (
    weakref.WeakKeyDictionary()
)
_client_metrics: weakref.WeakKeyDictionary[CollectorRegistry, RpcMetrics] = (
    weakref.WeakKeyDictionary()
)


def server_metrics(registry: CollectorRegistry = REGISTRY) -> RpcMetrics:
    metrics = _server_metrics.get(registry)
    if metrics is None:
        metrics = _server_metrics[registry] = RpcMetrics.create("server", registry)
    return metrics


def client_metrics(registry: CollectorRegistry = REGISTRY) -> RpcMetrics:
    metrics = _client_metrics.get(registry)
    if metrics is None:
        metrics = _client_metrics[registry] = RpcMetrics.create("client", registry)
    return metrics


class CallMetrics:
    """The label values and clock of one call, counted into one side's metrics."""

    def __init__(self, metrics: RpcMetrics, info: RpcInfo) -> None:
        self._metrics = metrics
        self._labels = (info.grpc_type, info.service, info.method)
        self._started = time.perf_counter()
        metrics.started.labels(*self._labels).inc()

    def received(self) -> None:
        self._metrics.msg_received.labels(*self._labels).inc()

    def sent(self) -> None:
        self._metrics.msg_sent.labels(*self._labels).inc()

    def finished(self, code: grpc.StatusCode) -> None:
        self._metrics.handled.labels(*self._labels, GRPC_CODE_LABELS[code]).inc()
        self._metrics.handling_seconds.labels(*self._labels).observe(
            time.perf_counter() - self._started
        )
