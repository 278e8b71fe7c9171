"""The edge's HTTP concerns as pure ASGI middleware: correlation id, trace context, RED
metrics, security headers, CORS, body limit; and its JSON error answers."""

from __future__ import annotations

from edge.http.body_limit import BodyLimitMiddleware, BodyTooLarge
from edge.http.config import HttpConfig
from edge.http.correlation import CorrelationMiddleware
from edge.http.cors import cors_middleware
from edge.http.metrics import HttpMetrics, MetricsMiddleware, http_metrics
from edge.http.responses import edge_error_response, error_response, json_bytes, status_body
from edge.http.scope import route_template, set_route_template
from edge.http.security import SecurityHeadersMiddleware
from edge.http.stack import http_middleware, middleware_stack
from edge.http.tracing import TracingMiddleware

__all__ = [
    "BodyLimitMiddleware",
    "BodyTooLarge",
    "CorrelationMiddleware",
    "HttpConfig",
    "HttpMetrics",
    "MetricsMiddleware",
    "SecurityHeadersMiddleware",
    "TracingMiddleware",
    "cors_middleware",
    "edge_error_response",
    "error_response",
    "http_metrics",
    "http_middleware",
    "json_bytes",
    "middleware_stack",
    "route_template",
    "set_route_template",
    "status_body",
]
