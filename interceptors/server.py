"""The server chain as one interceptor: every concern of a call run as plain calls around the
handler, in the order the separate interceptors would nest, with what depends only on the
method (access rule, metric series, span name, log level) decided once per method.

Order, outermost first: correlation ▸ access log ▸ tracing ▸ metrics ▸ auth ▸ validation ▸
errors. Errors are innermost so that every concern around them sees the final code.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import protovalidate
from google.protobuf import message
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

from interceptors._handlers import (
    Context,
    Handler,
    StreamNext,
    UnaryNext,
    _as_stream,
    _as_unary,
    final_code,
    peer_service,
)
from interceptors._series import MethodSeries
from interceptors.auth import AccessControl, admit, bearer_token
from interceptors.correlation import accept_correlation_id
from interceptors.errors import abort_internal, abort_with, answer_error
from interceptors.logging import ACCESS_LOGGER, SERVER_FAULT_CODES, AccessLogConfig
from interceptors.tracing import SERVER_ERROR_CODES
from interceptors.validation import has_rules, invalid_argument, violations_of
from mesh import context as call_context
from mesh.observability.metrics import RpcMetrics
from mesh.observability.tracing import rpc_span_attributes, rpc_span_name, set_rpc_status
from mesh.options import AccessRule
from mesh.rpc import AUTHORIZATION_KEY, CORRELATION_ID_KEY, RpcInfo

# Successful calls of these methods are logged at DEBUG: health checks come every few
# seconds from Consul and every mesh client, reflection from tooling. Failures still log.
QUIET_METHODS = frozenset(
    {
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/grpc.health.v1.Health/List",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    }
)

_OK = grpc.StatusCode.OK
_CORRELATION_ATTRIBUTE = "trademesh.correlation_id"
_NO_PARENT = otel_context.Context()
_UNCHANGED = contextlib.nullcontext()


@dataclass(frozen=True, slots=True)
class _Method:
    """What the chain decided about one method of one handler."""

    handler: Handler
    info: RpcInfo
    rule: AccessRule | None
    series: MethodSeries
    span_name: str
    span_attributes: dict[str, str]
    success_level: int
    unary_next: UnaryNext | None
    stream_next: StreamNext | None
    wrapped: Handler


class ServerChain(grpc.aio.ServerInterceptor):
    """Correlation id, access log, tracing, metrics, auth, validation and error mapping.

    Per call: one pass over the metadata, one coroutine around the handler. Verified access
    tokens are reused until they expire (sessions are checked every call); request types
    without buf.validate rules skip protovalidate; access lines of successful calls follow
    `AccessLogConfig` (health and reflection at DEBUG), failed calls are always logged.
    """

    def __init__(
        self,
        *,
        service_name: str,
        access: AccessControl,
        metrics: RpcMetrics,
        tracer: trace.Tracer,
        access_log: AccessLogConfig | None = None,
        validator: protovalidate.Validator | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self._success_sample_rate = (access_log or AccessLogConfig()).success_sample_rate
        self._service = service_name
        self._access = access
        self._metrics = metrics
        self._tracer = tracer
        self._validator = validator or protovalidate.Validator()
        self._logger = logger or logging.getLogger(ACCESS_LOGGER)
        self._methods: dict[str, _Method] = {}
        self._has_rules: dict[Any, bool] = {}  # by message descriptor
        self._textmap: object = None
        self._trace_fields: frozenset[str] = frozenset()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None  # unknown method: grpc answers UNIMPLEMENTED
        method = self._methods.get(handler_call_details.method)
        if method is None or method.handler is not handler:
            # Keyed by method name, so the table stays as small as the set of methods served.
            method = self._methods[handler_call_details.method] = self._plan(
                handler_call_details.method, handler
            )
        return method.wrapped

    def _plan(self, full_method: str | bytes, handler: Handler) -> _Method:
        info = RpcInfo.parse(
            full_method,
            request_streaming=bool(handler.request_streaming),
            response_streaming=bool(handler.response_streaming),
        )
        unary_next = stream_next = None
        if info.response_streaming:
            stream_next = _as_stream(handler.stream_stream or handler.unary_stream)
        else:
            unary_next = _as_unary(handler.stream_unary or handler.unary_unary)
        factory = _HANDLER_FACTORIES[(info.request_streaming, info.response_streaming)]
        method = _Method(
            handler=handler,
            info=info,
            rule=self._access.rules.lookup(info.full_method),
            series=MethodSeries(self._metrics, info),
            span_name=rpc_span_name(info),
            span_attributes=rpc_span_attributes(info),
            success_level=logging.DEBUG if info.full_method in QUIET_METHODS else logging.INFO,
            unary_next=unary_next,
            stream_next=stream_next,
            wrapped=handler,  # replaced below, once the behavior can refer to the plan
        )
        # Response streams end up written by `_run` itself (see `_write_all`), so every kind
        # of RPC is one coroutine: the chain's.
        behavior = functools.partial(self._run, method)
        wrapped = factory(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        object.__setattr__(method, "wrapped", wrapped)
        return method

    async def _run(self, method: _Method, request: Any, context: Context) -> Any:
        started = time.perf_counter()
        correlation_ids: list[str] = []
        authorization: list[str] = []
        carrier: dict[str, str] = {}
        for key, value in context.invocation_metadata() or ():
            if isinstance(value, bytes):
                if key == CORRELATION_ID_KEY or key == AUTHORIZATION_KEY:
                    value = value.decode("utf-8", "replace")
                else:
                    continue
            else:
                carrier[key] = value
            if key == CORRELATION_ID_KEY:
                correlation_ids.append(value)
            elif key == AUTHORIZATION_KEY:
                authorization.append(value)
        correlation_id = accept_correlation_id(
            correlation_ids[0] if len(correlation_ids) == 1 else None
        )
        remaining = context.time_remaining()
        caller = peer_service(context)
        error: BaseException | None = None
        span: Span | None = None
        series = method.series
        measured_from = 0.0
        trace_token: contextvars.Token[otel_context.Context] | None = None
        with call_context.bind(
            correlation_id=correlation_id,
            method=method.info.full_method,
            deadline=None if remaining is None else time.monotonic() + remaining,
        ) as bound:
            try:
                # Sent before anything else, so the caller sees the id even when the call fails.
                await context.send_initial_metadata(((CORRELATION_ID_KEY, correlation_id),))
                span = self._tracer.start_span(
                    method.span_name,
                    context=self._parent(carrier),
                    kind=SpanKind.SERVER,
                    attributes={**method.span_attributes, _CORRELATION_ATTRIBUTE: correlation_id},
                    record_exception=False,
                    set_status_on_exception=False,
                )
                measured_from = series.started()
                trace_token = otel_context.attach(trace.set_span_in_context(span))
                if method.info.request_streaming:
                    request = self._incoming(series, request, context)
                else:
                    series.received()
                principal = await admit(
                    self._access,
                    context,
                    method.info.full_method,
                    method.rule,
                    caller,
                    bearer_token(authorization),
                )
                # A call with neither a user nor a peer service leaves the context as it is.
                unchanged = principal is bound.principal and caller == bound.caller_service
                with (
                    _UNCHANGED
                    if unchanged
                    else call_context.bind(principal=principal, caller_service=caller)
                ):
                    if not method.info.request_streaming:
                        await self._validate(request, context)
                    if method.unary_next is None:
                        assert method.stream_next is not None
                        await _write_all(series, method.stream_next(request, context), context)
                        return None
                    try:
                        return await method.unary_next(request, context)
                    except Exception as exc:
                        await answer_error(context, exc)
            except BaseException as exc:
                error = exc
                raise
            finally:
                # Innermost concern first, as nested interceptors would unwind.
                code = final_code(context, error)
                if span is not None:
                    if code is _OK and method.unary_next is not None:
                        series.sent()
                    series.finished(code, measured_from)
                    set_rpc_status(span, code, is_error=code in SERVER_ERROR_CODES)
                    if trace_token is not None:
                        otel_context.detach(trace_token)
                    span.end()
                self._log(method, context, code, started, caller)

    def _parent(self, carrier: dict[str, str]) -> otel_context.Context:
        """The caller's trace context; extraction is skipped when no header it reads came."""
        textmap = propagate.get_global_textmap()
        if textmap is not self._textmap:
            self._textmap, self._trace_fields = textmap, frozenset(textmap.fields)
        if self._trace_fields.isdisjoint(carrier):
            return _NO_PARENT
        return propagate.extract(carrier)

    async def _incoming(
        self, series: MethodSeries, requests: AsyncIterator[Any], context: Context
    ) -> AsyncIterator[Any]:
        async for request in requests:
            series.received()
            await self._validate(request, context)
            yield request

    async def _validate(self, request: Any, context: Context) -> None:
        if not isinstance(request, message.Message):
            return  # a raw-bytes method has nothing to validate
        descriptor = request.DESCRIPTOR
        checked = self._has_rules.get(descriptor)
        if checked is None:
            checked = self._has_rules[descriptor] = has_rules(descriptor)
        if not checked:
            return
        try:
            violations = violations_of(self._validator, request)
        except Exception as exc:  # a rule that fails to compile or evaluate is our bug
            await abort_internal(context, exc)
        if violations:
            await abort_with(context, invalid_argument(violations))

    def _log(
        self,
        method: _Method,
        context: Context,
        code: grpc.StatusCode,
        started: float,
        caller: str | None,
    ) -> None:
        if code is _OK:
            rate = self._success_sample_rate
            if rate < 1.0 and random.random() >= rate:
                return
            level = method.success_level
        else:
            level = logging.WARNING if code in SERVER_FAULT_CODES else logging.INFO
        if not self._logger.isEnabledFor(level):
            return
        duration_ms = round((time.perf_counter() - started) * 1000.0, 3)
        self._logger.log(
            level,
            "%s %s %.1fms",
            method.info.full_method,
            code.name,
            duration_ms,
            extra={
                "grpc_type": method.info.grpc_type,
                "grpc_code": code.name,
                "duration_ms": duration_ms,
                "peer_service": caller,
                "peer": context.peer(),
                "service": self._service,
            },
        )


async def _write_all(series: MethodSeries, responses: AsyncIterator[Any], context: Context) -> None:
    """Writes each response the handler yields; the handler is closed here, inside the call's
    task, so its `finally` never runs later from the garbage collector after grpc released
    the call. Only the handler's own exceptions are mapped to a status, not failed writes."""
    try:
        while True:
            try:
                response = await anext(responses)
            except StopAsyncIteration:
                break
            except Exception as exc:
                await answer_error(context, exc)
            series.sent()
            await context.write(response)
    finally:
        await responses.aclose()  # type: ignore[attr-defined]


_HANDLER_FACTORIES: dict[tuple[bool, bool], Callable[..., Any]] = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}
