"""A CLIENT span for every outgoing call, its W3C trace context carried in the metadata."""

from __future__ import annotations

import grpc
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

from mesh.client.interceptors._observing import CallObserver, ObservingClientInterceptor
from mesh.observability.tracing import (
    rpc_span_attributes,
    rpc_span_name,
    rpc_tracer,
    set_rpc_status,
)
from mesh.rpc import RpcInfo


class _SpanObserver:
    def __init__(self, span: Span) -> None:
        self._span = span

    def sent(self) -> None:
        pass

    def received(self) -> None:
        pass

    def finished(self, code: grpc.StatusCode) -> None:
        # For the caller any code but OK is a failed call.
        set_rpc_status(self._span, code, is_error=code != grpc.StatusCode.OK)
        self._span.end()


class ClientTracingInterceptor(ObservingClientInterceptor):
    """A CLIENT span per outgoing call, its context injected as `traceparent` metadata."""

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._tracer = rpc_tracer(tracer_provider)

    def start(
        self, info: RpcInfo, details: grpc.aio.ClientCallDetails
    ) -> tuple[grpc.aio.ClientCallDetails, CallObserver]:
        span = self._tracer.start_span(
            rpc_span_name(info), kind=SpanKind.CLIENT, attributes=rpc_span_attributes(info)
        )
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        metadata = grpc.aio.Metadata(
            *[(key, value) for key, value in details.metadata or () if key not in carrier],
            *carrier.items(),
        )
        details = grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )
        return details, _SpanObserver(span)
