"""Server interceptors of the mesh: one concern a module, run together as one interceptor
(`server.ServerChain`, built by `chain.server_interceptors`); each concern also stands alone
as its own interceptor class.

The client chain lives with the mesh client (`mesh.client.interceptors`); log and tracer
set-up with the rest of the process set-up (`mesh.observability`).
"""

from __future__ import annotations

from interceptors.auth import (
    STANDARD_PUBLIC_METHODS,
    AccessRules,
    AccessTokenVerifier,
    AuthInterceptor,
    RevocationCheck,
)
from interceptors.chain import ServerInterceptorConfig, server_interceptors
from interceptors.correlation import (
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
from interceptors.logging import AccessLogConfig, AccessLogInterceptor
from interceptors.metrics import ServerMetricsInterceptor
from interceptors.tracing import ServerTracingInterceptor
from interceptors.validation import ValidationInterceptor
from mesh.observability import build_tracer_provider
from mesh.options import AccessRule
from mesh.rpc import AUTHORIZATION_KEY, CORRELATION_ID_KEY, bearer_metadata

__all__ = [
    "AUTHORIZATION_KEY",
    "CORRELATION_ID_KEY",
    "ERROR_DOMAIN",
    "STANDARD_PUBLIC_METHODS",
    "AccessLogConfig",
    "AccessLogInterceptor",
    "AccessRule",
    "AccessRules",
    "AccessTokenVerifier",
    "AuthInterceptor",
    "CorrelationInterceptor",
    "ErrorInterceptor",
    "RevocationCheck",
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
    "new_correlation_id",
    "server_interceptors",
    "status_details",
    "status_for",
]
