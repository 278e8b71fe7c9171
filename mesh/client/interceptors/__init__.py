"""The client chain: call context passed on, client metrics and spans, for every call kind."""

from __future__ import annotations

from mesh.client.interceptors._base import ClientInterceptorBase, for_channel
from mesh.client.interceptors._observing import CallObserver, ObservingClientInterceptor
from mesh.client.interceptors.chain import ClientInterceptorConfig, client_interceptors
from mesh.client.interceptors.metrics import ClientMetricsInterceptor
from mesh.client.interceptors.propagation import (
    ContextPropagationInterceptor,
    propagated_details,
)
from mesh.client.interceptors.tracing import ClientTracingInterceptor

__all__ = [
    "CallObserver",
    "ClientInterceptorBase",
    "ClientInterceptorConfig",
    "ClientMetricsInterceptor",
    "ClientTracingInterceptor",
    "ContextPropagationInterceptor",
    "ObservingClientInterceptor",
    "client_interceptors",
    "for_channel",
    "propagated_details",
]
