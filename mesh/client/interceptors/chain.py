"""The client chain every mesh client uses, built from one config."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from opentelemetry import trace
from prometheus_client import REGISTRY, CollectorRegistry

from mesh.client.interceptors._base import for_channel
from mesh.client.interceptors.metrics import ClientMetricsInterceptor
from mesh.client.interceptors.propagation import ContextPropagationInterceptor
from mesh.client.interceptors.tracing import ClientTracingInterceptor


@dataclass(frozen=True, slots=True)
class ClientInterceptorConfig:
    """What the client chain of a calling process needs."""

    registry: CollectorRegistry = REGISTRY
    tracer_provider: trace.TracerProvider | None = None


def client_interceptors(config: ClientInterceptorConfig) -> list[grpc.aio.ClientInterceptor]:
    """Outermost first: context propagation ▸ tracing ▸ metrics, for all four call kinds.
    Pass the whole list as a channel's `interceptors`."""
    return for_channel(
        ContextPropagationInterceptor(),
        ClientTracingInterceptor(config.tracer_provider),
        ClientMetricsInterceptor(config.registry),
    )
