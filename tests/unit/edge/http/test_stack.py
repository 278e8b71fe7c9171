"""The whole HTTP stack in its order: an answer the edge makes by itself (the 413) still
carries the correlation id, the trace, the security and CORS headers, and is counted."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from edge.http.config import HttpConfig
from edge.http.stack import http_middleware, middleware_stack

ORIGIN = "https://app.example.com"


async def _upload(request: Request) -> PlainTextResponse:
    await request.body()
    return PlainTextResponse("ok")


def _routes() -> list[Route]:
    return [Route("/api/v1/upload", _upload, methods=["POST"])]


async def _check(app: object, registry: CollectorRegistry) -> None:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
        response = await client.post(
            "/api/v1/upload",
            content=b"x" * 11,
            headers={"Origin": ORIGIN, "X-Correlation-Id": "c-413"},
        )
    assert response.status_code == 413
    assert response.json()["message"] == "request body exceeds the limit of 10 bytes"
    assert response.headers["x-correlation-id"] == "c-413"
    assert response.headers["traceparent"].startswith("00-")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == ORIGIN
    labels = {"method": "POST", "route": "unmatched", "code": "413"}
    assert registry.get_sample_value("http_requests_total", labels) == 1


def _config() -> HttpConfig:
    return HttpConfig(max_body_bytes=10, cors_origins=(ORIGIN,))


async def test_wrapped_around_a_whole_app() -> None:
    registry = CollectorRegistry()
    app = middleware_stack(
        Starlette(routes=_routes()), _config(), tracer_provider=TracerProvider(), registry=registry
    )
    await _check(app, registry)


async def test_as_the_middleware_list_of_an_app() -> None:
    registry = CollectorRegistry()
    middleware = http_middleware(_config(), tracer_provider=TracerProvider(), registry=registry)
    await _check(Starlette(routes=_routes(), middleware=middleware), registry)
