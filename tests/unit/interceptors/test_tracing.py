"""OpenTelemetry spans on both sides of each hop, joined by W3C trace context in metadata."""

from __future__ import annotations

import grpc
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry
from trademesh.identity.v1 import identity_pb2

from interceptors import ServerInterceptorConfig
from mesh.client.interceptors import ClientInterceptorConfig, client_interceptors

from . import probe
from .conftest import CALL_TIMEOUT_SECONDS, Tokens, bearer, serving
from .hops import two_hops

T = CALL_TIMEOUT_SECONDS
NOTIFICATIONS = "trademesh.notification.v1.NotificationService"


def _one(spans: list[ReadableSpan], name: str, kind: SpanKind) -> ReadableSpan:
    [span] = [s for s in spans if s.name == name and s.kind == kind]
    return span


def _parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_one_trace_across_two_hops(
    server_config: ServerInterceptorConfig,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    tokens: Tokens,
) -> None:
    edge = client_interceptors(
        ClientInterceptorConfig(registry=CollectorRegistry(), tracer_provider=tracer_provider)
    )
    async with two_hops(server_config, upstream_timeout=10.0, edge_interceptors=edge) as hops:
        await hops.front.GetMe(
            identity_pb2.GetMeRequest(), metadata=bearer(tokens.access()), timeout=T
        )

    spans = list(span_exporter.get_finished_spans())
    get_me = "trademesh.identity.v1.IdentityService/GetMe"
    edge_span = _one(spans, get_me, SpanKind.CLIENT)
    a_span = _one(spans, get_me, SpanKind.SERVER)
    trace_id = edge_span.context.trace_id
    assert {span.context.trace_id for span in spans} == {trace_id}
    assert _parent_id(a_span) == edge_span.context.span_id
    for method in ("ListNotifications", "StreamNotifications"):
        a_client = _one(spans, f"{NOTIFICATIONS}/{method}", SpanKind.CLIENT)
        b_server = _one(spans, f"{NOTIFICATIONS}/{method}", SpanKind.SERVER)
        assert _parent_id(a_client) == a_span.context.span_id
        assert _parent_id(b_server) == a_client.context.span_id
        assert b_server.attributes is not None
        assert b_server.attributes["rpc.service"] == NOTIFICATIONS
        assert b_server.attributes["rpc.method"] == method
        assert b_server.attributes["rpc.grpc.status_code"] == 0
    assert len(spans) == 6


async def test_server_span_joins_an_incoming_traceparent(
    server_config: ServerInterceptorConfig, span_exporter: InMemorySpanExporter
) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        await probe.ProbeClient(ch).unary(
            probe.StringValue(),
            metadata=(
                ("traceparent", f"00-{trace_id}-{parent_id}-01"),
                ("x-correlation-id", "traced-1"),
            ),
            timeout=T,
        )

    [span] = span_exporter.get_finished_spans()
    assert span.kind == SpanKind.SERVER
    assert format(span.context.trace_id, "032x") == trace_id
    assert _parent_id(span) == int(parent_id, 16)
    assert span.attributes is not None
    assert span.attributes["trademesh.correlation_id"] == "traced-1"
    assert span.status.status_code == StatusCode.UNSET


@pytest.mark.parametrize(
    ("value", "code", "status"),
    [
        ("not_found", grpc.StatusCode.NOT_FOUND, StatusCode.UNSET),  # the caller's problem
        ("boom", grpc.StatusCode.INTERNAL, StatusCode.ERROR),
        ("upstream_unavailable", grpc.StatusCode.UNAVAILABLE, StatusCode.ERROR),
    ],
)
async def test_server_span_status_follows_the_final_code(
    server_config: ServerInterceptorConfig,
    span_exporter: InMemorySpanExporter,
    value: str,
    code: grpc.StatusCode,
    status: StatusCode,
) -> None:
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        with pytest.raises(grpc.aio.AioRpcError):
            await probe.ProbeClient(ch).unary(probe.StringValue(value=value), timeout=T)

    [span] = span_exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["rpc.grpc.status_code"] == code.value[0]
    assert span.status.status_code == status
    if value == "boom":
        [event] = span.events
        assert event.name == "exception"


async def test_client_spans_are_errors_for_any_failure(
    server_config: ServerInterceptorConfig,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    interceptors = client_interceptors(
        ClientInterceptorConfig(registry=CollectorRegistry(), tracer_provider=tracer_provider)
    )
    async with (
        serving(server_config) as server,
        grpc.aio.insecure_channel(server.address, interceptors=interceptors) as ch,
    ):
        with pytest.raises(grpc.aio.AioRpcError):
            await probe.ProbeClient(ch).unary(probe.StringValue(value="not_found"), timeout=T)

    client = _one(
        list(span_exporter.get_finished_spans()), "trademesh.test.v1.Probe/Unary", SpanKind.CLIENT
    )
    assert client.status.status_code == StatusCode.ERROR
    assert client.attributes is not None
    assert client.attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
