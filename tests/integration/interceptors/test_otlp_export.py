"""Spans leave the process by OTLP/gRPC when an endpoint is configured. The receiving end is a
real gRPC server implementing OTLP's TraceService on loopback (no collector binary runs here)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest_asyncio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as otlp
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as otlp_grpc

from interceptors import ServerTracingInterceptor, build_tracer_provider
from tests.conftest import eventually


class Receiver(otlp_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans: list[tuple[str, str]] = []  # (service.name, span name)

    async def Export(
        self, request: otlp.ExportTraceServiceRequest, context: grpc.aio.ServicerContext
    ) -> otlp.ExportTraceServiceResponse:
        for resource_spans in request.resource_spans:
            attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                self.spans.extend((attrs.get("service.name", ""), s.name) for s in scope.spans)
        return otlp.ExportTraceServiceResponse()


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, int]]:
    server = grpc.aio.server()
    servicer = Receiver()
    otlp_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield servicer, port
    await server.stop(None)


async def test_server_spans_are_exported_to_the_otlp_endpoint(
    receiver: tuple[Receiver, int],
) -> None:
    collected, port = receiver
    provider = build_tracer_provider("identity", f"http://127.0.0.1:{port}")
    server = grpc.aio.server(interceptors=[ServerTracingInterceptor(provider)])
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    server_port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server_port}") as channel:
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    finally:
        await server.stop(None)
    await asyncio.to_thread(provider.force_flush)

    async def exported() -> bool:
        return ("identity", "grpc.health.v1.Health/Check") in collected.spans

    await eventually(exported, what="the server span at the OTLP receiver")
    await asyncio.to_thread(provider.shutdown)
