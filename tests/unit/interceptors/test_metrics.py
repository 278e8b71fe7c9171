"""Prometheus metrics of the server and client chains, by the go-grpc-prometheus names."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from prometheus_client import CollectorRegistry

from interceptors import ServerInterceptorConfig
from mesh.client.interceptors import ClientInterceptorConfig, client_interceptors
from mesh.observability import server_metrics
from tests.conftest import eventually

from . import probe
from .conftest import CALL_TIMEOUT_SECONDS, serving

SERVICE = probe.SERVICE


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def _labels(grpc_type: str, method: str) -> dict[str, str]:
    return {"grpc_type": grpc_type, "grpc_service": SERVICE, "grpc_method": method}


async def _requests(*values: str) -> AsyncIterator[probe.StringValue]:
    for value in values:
        yield probe.StringValue(value=value)


async def test_unary_calls_count_by_code(
    server_config: ServerInterceptorConfig, registry: CollectorRegistry
) -> None:
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        client = probe.ProbeClient(ch)
        await client.unary(probe.StringValue(), timeout=CALL_TIMEOUT_SECONDS)
        await client.unary(probe.StringValue(), timeout=CALL_TIMEOUT_SECONDS)
        with pytest.raises(grpc.aio.AioRpcError):
            await client.unary(probe.StringValue(value="not_found"), timeout=CALL_TIMEOUT_SECONDS)
        with pytest.raises(grpc.aio.AioRpcError):
            await client.unary(probe.StringValue(value="boom"), timeout=CALL_TIMEOUT_SECONDS)

    labels = _labels("unary", "Unary")
    assert _value(registry, "grpc_server_started_total", **labels) == 4
    assert _value(registry, "grpc_server_handled_total", **labels, grpc_code="OK") == 2
    assert _value(registry, "grpc_server_handled_total", **labels, grpc_code="NotFound") == 1
    assert _value(registry, "grpc_server_handled_total", **labels, grpc_code="Internal") == 1
    assert _value(registry, "grpc_server_msg_received_total", **labels) == 4
    assert _value(registry, "grpc_server_msg_sent_total", **labels) == 2
    assert _value(registry, "grpc_server_handling_seconds_count", **labels) == 4
    assert _value(registry, "grpc_server_handling_seconds_bucket", **labels, le="+Inf") == 4


async def test_refusals_by_outer_interceptors_are_counted_with_their_code(
    server_config: ServerInterceptorConfig, registry: CollectorRegistry
) -> None:
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        with pytest.raises(grpc.aio.AioRpcError):
            await probe.ProbeClient(ch).unguarded(probe.StringValue(), timeout=CALL_TIMEOUT_SECONDS)

    labels = _labels("unary", "Unguarded")
    assert (
        _value(registry, "grpc_server_handled_total", **labels, grpc_code="PermissionDenied") == 1
    )
    assert _value(registry, "grpc_server_msg_sent_total", **labels) == 0


async def test_server_streams_count_each_message(
    server_config: ServerInterceptorConfig, registry: CollectorRegistry
) -> None:
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        client = probe.ProbeClient(ch)
        responses = [
            r async for r in client.server_stream(probe.StringValue(value="3"), timeout=10)
        ]
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            async for _ in client.server_stream(probe.StringValue(value="2:not_found"), timeout=10):
                pass

    assert len(responses) == 3
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    labels = _labels("server_stream", "ServerStream")
    assert _value(registry, "grpc_server_started_total", **labels) == 2
    assert _value(registry, "grpc_server_handled_total", **labels, grpc_code="OK") == 1
    assert _value(registry, "grpc_server_handled_total", **labels, grpc_code="NotFound") == 1
    assert _value(registry, "grpc_server_msg_received_total", **labels) == 2
    assert _value(registry, "grpc_server_msg_sent_total", **labels) == 5
    assert _value(registry, "grpc_server_handling_seconds_count", **labels) == 2


async def test_a_stream_the_caller_cancels_is_counted_as_canceled(
    server_config: ServerInterceptorConfig, registry: CollectorRegistry
) -> None:
    labels = _labels("server_stream", "ServerStream")
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        call = probe.ProbeClient(ch).server_stream(probe.StringValue(value="1:hang"), timeout=30)
        first = await call.read()
        call.cancel()

        async def counted() -> bool:
            return (
                _value(registry, "grpc_server_handled_total", **labels, grpc_code="Canceled") == 1
            )

        await eventually(counted, timeout=10, interval=0.05, what="a Canceled stream")

    assert first.value == "0"
    assert _value(registry, "grpc_server_msg_sent_total", **labels) == 1


async def test_client_and_bidi_streams_count_both_directions(
    server_config: ServerInterceptorConfig, registry: CollectorRegistry
) -> None:
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        client = probe.ProbeClient(ch)
        joined = await client.client_stream(_requests("a", "b", "c"), timeout=10)
        echoed = [r.value async for r in client.bidi(_requests("x", "y"), timeout=10)]

    assert joined.value == "a,b,c"
    assert echoed == ["X", "Y"]
    client_stream = _labels("client_stream", "ClientStream")
    assert _value(registry, "grpc_server_msg_received_total", **client_stream) == 3
    assert _value(registry, "grpc_server_msg_sent_total", **client_stream) == 1
    assert _value(registry, "grpc_server_handled_total", **client_stream, grpc_code="OK") == 1
    bidi = _labels("bidi_stream", "Bidi")
    assert _value(registry, "grpc_server_msg_received_total", **bidi) == 2
    assert _value(registry, "grpc_server_msg_sent_total", **bidi) == 2
    assert _value(registry, "grpc_server_handled_total", **bidi, grpc_code="OK") == 1


async def test_client_metrics_for_unary_and_server_streaming_calls(
    server_config: ServerInterceptorConfig,
) -> None:
    client_registry = CollectorRegistry()
    interceptors = client_interceptors(ClientInterceptorConfig(registry=client_registry))
    async with (
        serving(server_config) as server,
        grpc.aio.insecure_channel(server.address, interceptors=interceptors) as ch,
    ):
        client = probe.ProbeClient(ch)
        await client.unary(probe.StringValue(), timeout=CALL_TIMEOUT_SECONDS)
        with pytest.raises(grpc.aio.AioRpcError):
            await client.unary(probe.StringValue(value="abort"), timeout=CALL_TIMEOUT_SECONDS)
        responses = [r async for r in client.server_stream(probe.StringValue(value="4"))]
        with pytest.raises(grpc.aio.AioRpcError):
            async for _ in client.server_stream(probe.StringValue(value="1:boom")):
                pass

    assert len(responses) == 4
    unary = _labels("unary", "Unary")
    assert _value(client_registry, "grpc_client_started_total", **unary) == 2
    assert _value(client_registry, "grpc_client_handled_total", **unary, grpc_code="OK") == 1
    assert (
        _value(
            client_registry, "grpc_client_handled_total", **unary, grpc_code="FailedPrecondition"
        )
        == 1
    )
    assert _value(client_registry, "grpc_client_msg_sent_total", **unary) == 2
    assert _value(client_registry, "grpc_client_msg_received_total", **unary) == 1
    assert _value(client_registry, "grpc_client_handling_seconds_count", **unary) == 2
    stream = _labels("server_stream", "ServerStream")
    assert _value(client_registry, "grpc_client_started_total", **stream) == 2
    assert _value(client_registry, "grpc_client_handled_total", **stream, grpc_code="OK") == 1
    assert _value(client_registry, "grpc_client_handled_total", **stream, grpc_code="Internal") == 1
    assert _value(client_registry, "grpc_client_msg_received_total", **stream) == 5
    assert _value(client_registry, "grpc_client_handling_seconds_count", **stream) == 2


def test_metrics_are_created_once_per_registry() -> None:
    registry = CollectorRegistry()

    assert server_metrics(registry) is server_metrics(registry)
    assert server_metrics(registry) is not server_metrics(CollectorRegistry())
    names = {metric.name for metric in registry.collect()}
    assert {
        "grpc_server_started",
        "grpc_server_handled",
        "grpc_server_handling_seconds",
        "grpc_server_msg_received",
        "grpc_server_msg_sent",
    } <= names
