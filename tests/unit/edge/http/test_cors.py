"""CORS from config: allowed origins get the headers (and the ones clients read exposed),
others none; no origins configured means no CORS at all."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from edge.http.config import HttpConfig
from edge.http.cors import cors_middleware

APP_ORIGIN = "https://app.example.com"


async def _orders(request: Request) -> PlainTextResponse:
    return PlainTextResponse("[]", headers={"X-Correlation-Id": "c-1"})


def _client(config: HttpConfig) -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/api/v1/orders", _orders, methods=["GET", "POST"])])
    transport = httpx.ASGITransport(app=cors_middleware(app, config))
    return httpx.AsyncClient(transport=transport, base_url="http://edge")


async def test_a_preflight_from_an_allowed_origin_is_answered_from_config() -> None:
    config = HttpConfig(cors_origins=(APP_ORIGIN,), cors_credentials=True, cors_max_age_seconds=60)
    async with _client(config) as client:
        response = await client.options(
            "/api/v1/orders",
            headers={
                "Origin": APP_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, x-correlation-id",
            },
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-max-age"] == "60"
    assert "POST" in response.headers["access-control-allow-methods"]


async def test_a_preflight_from_another_origin_is_refused() -> None:
    async with _client(HttpConfig(cors_origins=(APP_ORIGIN,))) as client:
        response = await client.options(
            "/api/v1/orders",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_answers_expose_the_headers_clients_read() -> None:
    async with _client(HttpConfig(cors_origins=("*",))) as client:
        response = await client.get("/api/v1/orders", headers={"Origin": "https://any.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"x-correlation-id", "retry-after", "ratelimit-remaining", "traceparent"} <= exposed


async def test_without_configured_origins_there_are_no_cors_headers() -> None:
    async with _client(HttpConfig()) as client:
        response = await client.get("/api/v1/orders", headers={"Origin": APP_ORIGIN})
    assert response.status_code == 200
    assert not [name for name in response.headers if name.startswith("access-control-")]
