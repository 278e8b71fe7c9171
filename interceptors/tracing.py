"""OpenTelemetry spans for every call, with W3C trace context carried in gRPC metadata."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from interceptors._client import CallObserver, ObservingClientInterceptor
from interceptors._handlers import (
    Context,
    RpcInfo,
    ServerInterceptorBase,
    StreamNext,
    UnaryNext,
    final_code,
)
from mesh import context as call_context

_INSTRUMENTATION = "trademesh.interceptors"
_OTLP_EXPORTER_MODULE = "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"
_OTLP_EXPORTER_PACKAGE = "opentelemetry-exporter-otlp-proto-grpc"

# Server spans are errors only for codes that mean the server failed (OpenTelemetry's gRPC
# conventions); a caller's bad request is not the server's error. Client spans are errors
# for every code but OK.
_SERVER_ERROR_CODES = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)


def build_tracer_provider(service: str, otlp_endpoint: str | None = None) -> TracerProvider:
    """A tracer provider for `service`, exporting by OTLP/gRPC when an endpoint is set
    (`http://host:4317` for plaintext, `https://...` for TLS)."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if otlp_endpoint:
        try:
            exporter_module = importlib.import_module(_OTLP_EXPORTER_MODULE)
        except ImportError as exc:
            raise RuntimeError(
                f"tracing: an OTLP endpoint ({otlp_endpoint}) is configured but the "
                f"{_OTLP_EXPORTER_PACKAGE} package is not installed"
            ) from exc
        exporter = exporter_module.OTLPSpanExporter(endpoint=otlp_endpoint)
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def configure_tracing(service: str, otlp_endpoint: str | None = None) -> TracerProvider:
    """Install the process's tracer provider (see `build_tracer_provider`).

    OpenTelemetry lets a process set its provider once; later calls are ignored by it.
    """
    provider = build_tracer_provider(service, otlp_endpoint)
    trace.set_tracer_provider(provider)
    return provider


def _attributes(info: RpcInfo) -> dict[str, str]:
    return {"rpc.system": "grpc", "rpc.service": info.service, "rpc.method": info.method}


def _span_name(info: RpcInfo) -> str:
    return info.full_method.lstrip("/")


def _end_status(span: Span, code: grpc.StatusCode, *, is_error: bool) -> None:
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if is_error:
        span.set_status(Status(StatusCode.ERROR, code.name))


class ServerTracingInterceptor(ServerInterceptorBase):
    """A SERVER span per call, child of the caller's span from the `traceparent` metadata,
    current while the handler runs (so its own calls and log lines join the trace)."""

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._tracer = trace.get_tracer(_INSTRUMENTATION, tracer_provider=tracer_provider)

    async def intercept_unary_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: UnaryNext
    ) -> Any:
        with self._span(info, context) as span:
            error: BaseException | None = None
            try:
                return await proceed(request, context)
            except BaseException as exc:
                error = exc
                raise
            finally:
                code = final_code(context, error)
                _end_status(span, code, is_error=code in _SERVER_ERROR_CODES)

    async def intercept_stream_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: StreamNext
    ) -> AsyncIterator[Any]:
        with self._span(info, context) as span:
            error: BaseException | None = None
            try:
                async for response in proceed(request, context):
                    yield response
            except BaseException as exc:
                error = exc
                raise
            finally:
                code = final_code(context, error)
                _end_status(span, code, is_error=code in _SERVER_ERROR_CODES)

    @contextmanager
    def _span(self, info: RpcInfo, context: Context) -> Iterator[Span]:
        carrier = {
            key: value
            for key, value in context.invocation_metadata() or ()
            if isinstance(value, str)
        }
        with self._tracer.start_as_current_span(
            _span_name(info),
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes=_attributes(info),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            correlation_id = call_context.current().correlation_id
            if correlation_id:
                span.set_attribute("trademesh.correlation_id", correlation_id)
            yield span


class _SpanObserver:
    def __init__(self, span: Span) -> None:
        self._span = span

    def message_received(self) -> None:
        pass

    def finished(self, code: grpc.StatusCode) -> None:
        _end_status(self._span, code, is_error=code != grpc.StatusCode.OK)
        self._span.end()


class ClientTracingInterceptor(ObservingClientInterceptor):
    """A CLIENT span per outgoing call, its context injected as `traceparent` metadata."""

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._tracer = trace.get_tracer(_INSTRUMENTATION, tracer_provider=tracer_provider)

    def start(
        self, info: RpcInfo, details: grpc.aio.ClientCallDetails
    ) -> tuple[grpc.aio.ClientCallDetails, CallObserver]:
        span = self._tracer.start_span(
            _span_name(info), kind=SpanKind.CLIENT, attributes=_attributes(info)
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
