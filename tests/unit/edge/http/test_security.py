"""Security headers on every answer; HSTS only when configured; /api/ answers never cached."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from edge.http.config import HttpConfig
from edge.http.security import SecurityHeadersMiddleware


async def _plain(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def _own_policy(request: Request) -> PlainTextResponse:
    return PlainTextResponse("docs", headers={"Content-Security-Policy": "default-src 'none'"})


def _client(config: HttpConfig) -> httpx.AsyncClient:
    app = Starlette(
        routes=[
            Route("/api/v1/orders", _plain),
            Route("/health", _plain),
            Route("/docs", _own_policy),
        ]
    )
    transport = httpx.ASGITransport(app=SecurityHeadersMiddleware(app, config))
    return httpx.AsyncClient(transport=transport, base_url="http://edge")


async def test_every_answer_carries_the_headers_even_a_404() -> None:
    async with _client(HttpConfig()) as client:
        for path in ("/health", "/api/v1/orders", "/missing"):
            response = await client.get(path)
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"
            policy = response.headers["content-security-policy"]
            assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
            assert "strict-transport-security" not in response.headers


async def test_only_api_answers_are_marked_no_store() -> None:
    async with _client(HttpConfig()) as client:
        assert (await client.get("/api/v1/orders")).headers["cache-control"] == "no-store"
        assert "cache-control" not in (await client.get("/health")).headers


async def test_hsts_when_configured() -> None:
    config = HttpConfig(hsts_max_age_seconds=31536000, hsts_include_subdomains=True)
    async with _client(config) as client:
        response = await client.get("/health")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_the_apps_own_policy_is_kept_and_not_doubled() -> None:
    async with _client(HttpConfig()) as client:
        response = await client.get("/docs")
    assert response.headers.get_list("content-security-policy") == ["default-src 'none'"]
