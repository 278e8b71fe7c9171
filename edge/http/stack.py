"""The edge's HTTP middleware in its one order, outermost first."""

from __future__ import annotations

from opentelemetry import trace
from prometheus_client import REGISTRY, CollectorRegistry
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from edge.http.body_limit import BodyLimitMiddleware
from edge.http.config import HttpConfig
from edge.http.correlation import CorrelationMiddleware
from edge.http.cors import cors_middleware
from edge.http.metrics import MetricsMiddleware
from edge.http.security import SecurityHeadersMiddleware
from edge.http.tracing import TracingMiddleware


def http_middleware(
    config: HttpConfig,
    *,
    tracer_provider: trace.TracerProvider | None = None,
    registry: CollectorRegistry = REGISTRY,
) -> list[Middleware]:
    """Metrics see every answer and time all of it; the correlation id is bound before the
    span starts so the span carries it; security and CORS headers reach error answers too,
    the 413 included, so a browser can read it."""
    return [
        Middleware(MetricsMiddleware, registry=registry),
        Middleware(CorrelationMiddleware),
        Middleware(TracingMiddleware, tracer_provider=tracer_provider),
        Middleware(SecurityHeadersMiddleware, config=config),
        Middleware(cors_middleware, config=config),
        Middleware(BodyLimitMiddleware, max_body_bytes=config.max_body_bytes),
    ]


def middleware_stack(
    app: ASGIApp,
    config: HttpConfig,
    *,
    tracer_provider: trace.TracerProvider | None = None,
    registry: CollectorRegistry = REGISTRY,
) -> ASGIApp:
    """`app` (a whole Starlette app, so its own 500 answers pass through too) inside the
    stack of `http_middleware`."""
    for middleware in reversed(
        http_middleware(config, tracer_provider=tracer_provider, registry=registry)
    ):
        cls, args, kwargs = middleware
        app = cls(app, *args, **kwargs)
    return app
