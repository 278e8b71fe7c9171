"""A SERVER span for every call, child of the caller's W3C trace context from the metadata."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, contextmanager
from typing import Any

import grpc
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

from interceptors._handlers import (
    Context,
    RpcInfo,
    ServerInterceptorBase,
    StreamNext,
    UnaryNext,
    final_code,
)
from mesh import context as call_context
from mesh.observability.tracing import (
    rpc_span_attributes,
    rpc_span_name,
    rpc_tracer,
    set_rpc_status,
)

# Server spans are errors only for codes that mean the server failed (OpenTelemetry's gRPC
# conventions); a caller's bad request is not the server's error.
SERVER_ERROR_CODES = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)


class ServerTracingInterceptor(ServerInterceptorBase):
    """A SERVER span per call, child of the caller's span from the `traceparent` metadata,
    current while the handler runs (so its own calls and log lines join the trace)."""

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._tracer = rpc_tracer(tracer_provider)

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
                set_rpc_status(span, code, is_error=code in SERVER_ERROR_CODES)

    async def intercept_stream_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: StreamNext
    ) -> AsyncIterator[Any]:
        with self._span(info, context) as span:
            error: BaseException | None = None
            try:
                async with aclosing(proceed(request, context)) as responses:
                    async for response in responses:
                        yield response
            except BaseException as exc:
                error = exc
                raise
            finally:
                code = final_code(context, error)
                set_rpc_status(span, code, is_error=code in SERVER_ERROR_CODES)

    @contextmanager
    def _span(self, info: RpcInfo, context: Context) -> Iterator[Span]:
        carrier = {
            key: value
            for key, value in context.invocation_metadata() or ()
            if isinstance(value, str)
        }
        with self._tracer.start_as_current_span(
            rpc_span_name(info),
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes=rpc_span_attributes(info),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            correlation_id = call_context.current().correlation_id
            if correlation_id:
                span.set_attribute("trademesh.correlation_id", correlation_id)
            yield span
