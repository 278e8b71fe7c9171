"""The process's tracer provider (OTLP when configured, trace context only otherwise) and the
RPC span conventions."""

from __future__ import annotations

import importlib
import random
from collections.abc import Sequence

import grpc
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, Status, StatusCode, TraceFlags
from opentelemetry.util import types

from mesh.rpc import RpcInfo

# The instrumentation scope of every RPC span, server or client.
RPC_INSTRUMENTATION = "trademesh.interceptors"

_OTLP_EXPORTER_MODULE = "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"
_OTLP_EXPORTER_PACKAGE = "opentelemetry-exporter-otlp-proto-grpc"

_ROOT_SAMPLED = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)
_ROOT_UNSAMPLED = TraceFlags(TraceFlags.RANDOM_TRACE_ID)


def build_tracer_provider(
    service: str, otlp_endpoint: str | None = None, *, sample_ratio: float = 1.0
) -> TracerProvider:
    """A tracer provider for `service`.

    With an OTLP/gRPC endpoint (`http://host:4317` for plaintext, `https://...` for TLS), spans
    are recorded and exported: a call whose caller sent a trace context follows the caller's
    decision, a new trace is sampled with probability `sample_ratio`. Without one, nothing would
    ever read a span, so none is recorded: spans only carry the trace context on (see
    `ContextOnlyTracer`).
    """
    if isinstance(sample_ratio, bool) or not 0.0 <= sample_ratio <= 1.0:
        raise ValueError(f"tracing: sample_ratio must be between 0 and 1, got {sample_ratio!r}")
    resource = Resource.create({"service.name": service})
    if not otlp_endpoint:
        return ContextOnlyTracerProvider(resource=resource, sample_ratio=sample_ratio)
    try:
        exporter_module = importlib.import_module(_OTLP_EXPORTER_MODULE)
    except ImportError as exc:
        raise RuntimeError(
            f"tracing: an OTLP endpoint ({otlp_endpoint}) is configured but the "
            f"{_OTLP_EXPORTER_PACKAGE} package is not installed"
        ) from exc
    provider = TracerProvider(
        resource=resource, sampler=ParentBased(TraceIdRatioBased(sample_ratio))
    )
    provider.add_span_processor(
        BatchSpanProcessor(exporter_module.OTLPSpanExporter(endpoint=otlp_endpoint))
    )
    return provider


def configure_tracing(
    service: str, otlp_endpoint: str | None = None, *, sample_ratio: float = 1.0
) -> TracerProvider:
    """Install the process's tracer provider (see `build_tracer_provider`).

    OpenTelemetry lets a process set its provider once; later calls are ignored by it.
    """
    provider = build_tracer_provider(service, otlp_endpoint, sample_ratio=sample_ratio)
    trace.set_tracer_provider(provider)
    return provider


class ContextOnlyTracer(trace.NoOpTracer):
    """Spans that record nothing but have their own span id in the caller's trace (or a new
    one), so W3C trace context still goes out with every call and log lines carry trace ids.

    A caller's sampling decision is passed on unchanged; a new trace is marked sampled with
    probability `sample_ratio`, as a recording provider would decide it.
    """

    def __init__(self, sample_ratio: float) -> None:
        self._bound = TraceIdRatioBased.get_bound_for_rate(sample_ratio)

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: trace.SpanKind = trace.SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[trace.Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        parent = trace.get_current_span(context).get_span_context()
        span_id = random.getrandbits(64) or 1
        if parent.is_valid:
            trace_id, flags, state = parent.trace_id, parent.trace_flags, parent.trace_state
        else:
            trace_id, state = random.getrandbits(128) or 1, None
            sampled = trace_id & TraceIdRatioBased.TRACE_ID_LIMIT < self._bound
            flags = _ROOT_SAMPLED if sampled else _ROOT_UNSAMPLED
        return NonRecordingSpan(SpanContext(trace_id, span_id, False, flags, state))


class ContextOnlyTracerProvider(TracerProvider):
    """A provider whose tracers are `ContextOnlyTracer`s: for a process with no exporter."""

    def __init__(self, *, resource: Resource, sample_ratio: float = 1.0) -> None:
        super().__init__(resource=resource, shutdown_on_exit=False)
        self._context_only = ContextOnlyTracer(sample_ratio)

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: types.Attributes = None,
    ) -> trace.Tracer:
        return self._context_only


def rpc_tracer(tracer_provider: trace.TracerProvider | None = None) -> trace.Tracer:
    """The tracer RPC spans come from; the global provider's unless one is given."""
    return trace.get_tracer(RPC_INSTRUMENTATION, tracer_provider=tracer_provider)


def rpc_span_name(info: RpcInfo) -> str:
    return info.full_method.lstrip("/")


def rpc_span_attributes(info: RpcInfo) -> dict[str, str]:
    return {"rpc.system": "grpc", "rpc.service": info.service, "rpc.method": info.method}


def set_rpc_status(span: Span, code: grpc.StatusCode, *, is_error: bool) -> None:
    """Record the call's final code on its span, as an error status when `is_error`."""
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if is_error:
        span.set_status(Status(StatusCode.ERROR, code.name))
