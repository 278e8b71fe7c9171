"""Process set-up for logs, traces and metrics: JSON logs, the tracer provider, RPC metrics."""

from __future__ import annotations

from mesh.observability.logging import JsonFormatter, configure_logging
from mesh.observability.metrics import (
    GRPC_CODE_LABELS,
    CallMetrics,
    RpcMetrics,
    client_metrics,
    server_metrics,
)
from mesh.observability.tracing import (
    RPC_INSTRUMENTATION,
    build_tracer_provider,
    configure_tracing,
    rpc_span_attributes,
    rpc_span_name,
    rpc_tracer,
    set_rpc_status,
)

__all__ = [
    "GRPC_CODE_LABELS",
    "RPC_INSTRUMENTATION",
    "CallMetrics",
    "JsonFormatter",
    "RpcMetrics",
    "build_tracer_provider",
    "client_metrics",
    "configure_logging",
    "configure_tracing",
    "rpc_span_attributes",
    "rpc_span_name",
    "rpc_tracer",
    "server_metrics",
    "set_rpc_status",
]
