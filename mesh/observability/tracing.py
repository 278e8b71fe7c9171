"""The process's tracer provider (OTLP when configured) and the RPC span conventions."""

from __future__ import annotations

import importlib

import grpc
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, Status, StatusCode

from mesh.rpc import RpcInfo

# The instrumentation scope of every RPC span, server or client.
RPC_INSTRUMENTATION = "trademesh.interceptors"

_OTLP_EXPORTER_MODULE = "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"
_OTLP_EXPORTER_PACKAGE = "opentelemetry-exporter-otlp-proto-grpc"


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
