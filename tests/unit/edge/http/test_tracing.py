"""Trace context in and out: a SERVER span per request, child of the caller's traceparent,
current while the handler runs, named by the route template, answered in `traceparent`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from edge.http.correlation import CorrelationMiddleware
from edge.http.scope import set_route_template
from edge.http.tracing import TracingMiddleware

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


async def _item(request: Request) -> JSONResponse:
    # What the mesh client's tracing interceptor would inject into an outgoing call.
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return JSONResponse({"outgoing": carrier.get("traceparent")})


async def _catch_all(request: Request) -> PlainTextResponse:
    set_route_template(request.scope, "/api/v1/users/{user_id}")
    return PlainTextResponse("ok")


async def _fails(request: Request) -> PlainTextResponse:
    return PlainTextResponse("down", status_code=503)


async def _raises(request: Request) -> PlainTextResponse:
    raise RuntimeError("boom")


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def client(exporter: InMemorySpanExporter) -> Iterator[httpx.AsyncClient]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = Starlette(
        routes=[
            Route("/items/{item_id}", _item),
            Route("/api/{rest:path}", _catch_all),
            Route("/fails", _fails),
            Route("/raises", _raises),
        ]
    )
    wrapped = CorrelationMiddleware(TracingMiddleware(app, tracer_provider=provider))
    transport = httpx.ASGITransport(app=wrapped, raise_app_exceptions=False)
    yield httpx.AsyncClient(transport=transport, base_url="http://edge")
    provider.shutdown()


def _only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, spans
    return spans[0]


async def test_the_request_span_continues_the_callers_trace_and_is_answered(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    response = await client.get(
        "/items/7", headers={"traceparent": TRACEPARENT, "X-Correlation-Id": "c-1"}
    )

    span = _only_span(exporter)
    assert span.kind is SpanKind.SERVER
    assert span.name == "GET /items/{item_id}"
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/items/{item_id}"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["trademesh.correlation_id"] == "c-1"
    assert span.parent is not None and format(span.parent.span_id, "016x") == CALLER_SPAN
    own_trace = format(span.context.trace_id, "032x")
    own_span = format(span.context.span_id, "016x")
    assert own_trace == CALLER_TRACE
    assert response.headers["traceparent"] == f"00-{CALLER_TRACE}-{own_span}-01"
    # An upstream call made by the handler is a child of the request's span.
    assert response.json()["outgoing"] == f"00-{CALLER_TRACE}-{own_span}-01"


async def test_without_a_caller_trace_a_new_trace_starts(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    response = await client.get("/items/7", headers={"traceparent": "00-garbage"})

    span = _only_span(exporter)
    assert span.parent is None
    assert format(span.context.trace_id, "032x") in response.headers["traceparent"]


async def test_a_template_set_by_the_handler_names_the_span(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    await client.get("/api/v1/users/u-123")
    span = _only_span(exporter)
    assert span.name == "GET /api/v1/users/{user_id}"
    assert "u-123" not in span.name


async def test_an_unmatched_path_names_the_span_by_its_method_alone(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    response = await client.get("/nowhere/u-123")
    assert response.status_code == 404
    assert _only_span(exporter).name == "GET"


async def test_server_errors_and_exceptions_mark_the_span(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    await client.get("/fails")
    await client.get("/raises")

    failed, raised = exporter.get_finished_spans()
    assert failed.status.status_code is StatusCode.ERROR
    assert raised.status.status_code is StatusCode.ERROR
    assert any(event.name == "exception" for event in raised.events)


async def test_no_span_stays_current_after_the_request(client: httpx.AsyncClient) -> None:
    await client.get("/items/1")
    assert not trace.get_current_span().get_span_context().is_valid
