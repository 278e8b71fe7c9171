"""Server and client interceptors of the mesh: one concern a module, chained by `chain`."""

from __future__ import annotations

from interceptors._client import ClientInterceptorBase, for_channel
from interceptors.auth import (
    AUTHORIZATION_KEY,
    STANDARD_PUBLIC_METHODS,
    AccessRule,
    AccessRules,
    AccessTokenVerifier,
    AuthInterceptor,
    RevocationCheck,
    bearer_metadata,
)
from interceptors.chain import (
    ClientInterceptorConfig,
    ServerInterceptorConfig,
    client_interceptors,
    server_interceptors,
)
from interceptors.client import ContextPropagationInterceptor, propagated_details
from interceptors.correlation import (
    CORRELATION_ID_KEY,
    CorrelationInterceptor,
    accept_correlation_id,
    new_correlation_id,
)
from interceptors.errors import (
    ERROR_DOMAIN,
    ErrorInterceptor,
    StatusDetails,
    abort_internal,
    abort_with,
    status_details,
    status_for,
)
from interceptors.logging import AccessLogInterceptor, JsonFormatter, configure_logging
from interceptors.metrics import (
    GRPC_CODE_LABELS,
    ClientMetricsInterceptor,
    RpcMetrics,
    ServerMetricsInterceptor,
    client_metrics,
    server_metrics,
)
from interceptors.tracing import (
    ClientTracingInterceptor,
    ServerTracingInterceptor,
    build_tracer_provider,
    configure_tracing,
)
from interceptors.validation import ValidationInterceptor

__all__ = [
    "AUTHORIZATION_KEY",
    "CORRELATION_ID_KEY",
    "ERROR_DOMAIN",
    "GRPC_CODE_LABELS",
    "STANDARD_PUBLIC_METHODS",
    "AccessLogInterceptor",
    "AccessRule",
    "AccessRules",
    "AccessTokenVerifier",
    "AuthInterceptor",
    "ClientInterceptorBase",
    "ClientInterceptorConfig",
    "ClientMetricsInterceptor",
    "ClientTracingInterceptor",
    "ContextPropagationInterceptor",
    "CorrelationInterceptor",
    "ErrorInterceptor",
    "JsonFormatter",
    "RevocationCheck",
    "RpcMetrics",
    "ServerInterceptorConfig",
    "ServerMetricsInterceptor",
    "ServerTracingInterceptor",
    "StatusDetails",
    "ValidationInterceptor",
    "abort_internal",
    "abort_with",
    "accept_correlation_id",
    "bearer_metadata",
    "build_tracer_provider",
    "client_interceptors",
    "client_metrics",
    "configure_logging",
    "configure_tracing",
    "for_channel",
    "new_correlation_id",
    "propagated_details",
    "server_interceptors",
    "server_metrics",
    "status_details",
    "status_for",
]
