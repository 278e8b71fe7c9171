"""CORS from the typed config: Starlette's CORSMiddleware, exposing the headers clients read."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from edge.http.config import HttpConfig

# Response headers a browser script may read besides the CORS-safelisted ones.
EXPOSED_HEADERS = (
    "X-Correlation-Id",
    "traceparent",
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "WWW-Authenticate",
    "Location",
)


def cors_middleware(app: ASGIApp, config: HttpConfig) -> ASGIApp:
    """`app` behind CORS, or `app` itself when no origin is allowed (same-origin only).

    Usable as a middleware factory: `Middleware(cors_middleware, config=config)`."""
    if not config.cors_origins:
        return app
    return CORSMiddleware(
        app,
        allow_origins=config.cors_origins,
        allow_methods=config.cors_methods,
        allow_headers=config.cors_headers,
        allow_credentials=config.cors_credentials,
        expose_headers=EXPOSED_HEADERS,
        max_age=config.cors_max_age_seconds,
    )
