"""Client-side Prometheus metrics of every outgoing call (grpc_client_*)."""

from __future__ import annotations

import grpc
from prometheus_client import REGISTRY, CollectorRegistry

from mesh.client.interceptors._observing import CallObserver, ObservingClientInterceptor
from mesh.observability.metrics import CallMetrics, client_metrics
from mesh.rpc import RpcInfo


class ClientMetricsInterceptor(ObservingClientInterceptor):
    """Counts started, handled (by code) and messages both ways, and times each call."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self._metrics = client_metrics(registry)

    def start(
        self, info: RpcInfo, details: grpc.aio.ClientCallDetails
    ) -> tuple[grpc.aio.ClientCallDetails, CallObserver]:
        return details, CallMetrics(self._metrics, info)
