"""HTTP RED metrics labelled by route template, never by raw path."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from edge.http.metrics import MetricsMiddleware
from edge.http.scope import set_route_template


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def client(registry: CollectorRegistry) -> httpx.AsyncClient:
    async def user(request: Request) -> JSONResponse:
        set_route_template(request.scope, "/api/v1/users/{user_id}")
        in_flight = registry.get_sample_value("http_requests_in_flight")
        return JSONResponse({"in_flight": in_flight})

    async def raises(request: Request) -> PlainTextResponse:
        raise RuntimeError("boom")

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/api/{rest:path}", user),
            Route("/health/{service}", health),
            Route("/raises", raises),
        ]
    )
    transport = httpx.ASGITransport(
        app=MetricsMiddleware(app, registry=registry), raise_app_exceptions=False
    )
    return httpx.AsyncClient(transport=transport, base_url="http://edge")


async def test_requests_are_counted_by_template_and_code(
    client: httpx.AsyncClient, registry: CollectorRegistry
) -> None:
    for user_id in ("u-1", "u-2", "u-3"):
        assert (await client.get(f"/api/v1/users/{user_id}")).status_code == 200
    await client.get("/health/trading")

    labels = {"method": "GET", "route": "/api/v1/users/{user_id}"}
    assert _value(registry, "http_requests_total", **labels, code="200") == 3
    assert _value(registry, "http_request_duration_seconds_count", **labels) == 3
    assert (
        _value(registry, "http_requests_total", method="GET", route="/health/{service}", code="200")
        == 1
    )
    routes = {s.labels.get("route") for m in registry.collect() for s in m.samples}
    assert not any("u-1" in str(route) for route in routes)


async def test_unknown_paths_share_one_label(
    client: httpx.AsyncClient, registry: CollectorRegistry
) -> None:
    await client.get("/wp-admin/one")
    await client.get("/wp-admin/two")
    assert _value(registry, "http_requests_total", method="GET", route="unmatched", code="404") == 2


async def test_an_exception_counts_as_500_and_odd_methods_as_other(
    client: httpx.AsyncClient, registry: CollectorRegistry
) -> None:
    await client.get("/raises")
    await client.request("BREW", "/health/x")
    assert _value(registry, "http_requests_total", method="GET", route="/raises", code="500") == 1
    assert (
        _value(
            registry, "http_requests_total", method="OTHER", route="/health/{service}", code="405"
        )
        == 1
    )


async def test_in_flight_counts_the_request_while_it_runs(
    client: httpx.AsyncClient, registry: CollectorRegistry
) -> None:
    response = await client.get("/api/v1/users/u-1")
    assert response.json() == {"in_flight": 1.0}
    assert registry.get_sample_value("http_requests_in_flight") == 0.0


def test_two_middlewares_on_one_registry_share_the_metrics(registry: CollectorRegistry) -> None:
    first = MetricsMiddleware(Starlette(), registry=registry)
    second = MetricsMiddleware(Starlette(), registry=registry)
    assert first.metrics is second.metrics


async def test_a_request_cancelled_before_its_answer_counts_as_499(
    registry: CollectorRegistry,
) -> None:
    waiting = asyncio.Event()

    async def stalls(scope: Scope, receive: Receive, send: Send) -> None:
        waiting.set()
        await asyncio.Event().wait()

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        pass

    scope: Scope = {"type": "http", "method": "GET", "path": "/slow", "headers": []}
    task = asyncio.create_task(MetricsMiddleware(stalls, registry=registry)(scope, receive, send))
    await asyncio.wait_for(waiting.wait(), timeout=30)
    assert registry.get_sample_value("http_requests_in_flight") == 1.0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert registry.get_sample_value("http_requests_in_flight") == 0.0
    assert _value(registry, "http_requests_total", method="GET", route="unmatched", code="499") == 1
