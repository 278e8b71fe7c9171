"""A SERVER span for every HTTP request, child of the caller's W3C trace context and current
while the request runs, so the mesh client's calls continue the trace."""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.http.correlation import SCOPE_KEY as CORRELATION_SCOPE_KEY
from edge.http.scope import route_template

HTTP_INSTRUMENTATION = "trademesh.edge.http"

# The answer carries our span's context only: no baggage or vendor state echoed back.
_RESPONSE_PROPAGATOR = TraceContextTextMapPropagator()
_TRACEPARENT = b"traceparent"


class TracingMiddleware:
    """Named `GET /api/v1/users/{user_id}` once the route is known, else just the method
    (OpenTelemetry's HTTP conventions: a raw path would make one span name per user id);
    the response carries `traceparent`. 5xx answers and exceptions mark the span an error."""

    def __init__(self, app: ASGIApp, tracer_provider: trace.TracerProvider | None = None) -> None:
        self.app = app
        self._tracer = trace.get_tracer(HTTP_INSTRUMENTATION, tracer_provider=tracer_provider)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier: dict[str, str] = {}
        for name, value in scope.get("headers", ()):
            key = name.decode("latin-1")
            # A repeated header is one comma-separated list (RFC 9110 §5.3).
            text = value.decode("latin-1")
            carrier[key] = f"{carrier[key]},{text}" if key in carrier else text
        method = scope.get("method", "GET")
        attributes: dict[str, str | int] = {
            "http.request.method": method,
            "url.path": scope.get("path", ""),
            "url.scheme": scope.get("scheme", "http"),
        }
        correlation_id = scope.get(CORRELATION_SCOPE_KEY)
        if isinstance(correlation_id, str):
            attributes["trademesh.correlation_id"] = correlation_id
        with self._tracer.start_as_current_span(
            method,
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes=attributes,
            record_exception=True,
            set_status_on_exception=True,
        ) as span:
            headers: dict[str, str] = {}
            _RESPONSE_PROPAGATOR.inject(headers)  # the current context: our span
            traceparent = headers.get("traceparent", "").encode()

            async def send_with_trace(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR, str(status)))
                    if traceparent:
                        message["headers"] = [
                            *(h for h in message.get("headers", ()) if h[0] != _TRACEPARENT),
                            (_TRACEPARENT, traceparent),
                        ]
                await send(message)

            try:
                await self.app(scope, receive, send_with_trace)
            finally:
                template = route_template(scope)
                if template is not None:
                    span.set_attribute("http.route", template)
                    span.update_name(f"{method} {template}")
