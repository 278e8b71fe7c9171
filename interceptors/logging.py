"""JSON log lines carrying the call context, and one access log line per call."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
from opentelemetry import trace

from interceptors._handlers import (
    Context,
    RpcInfo,
    ServerInterceptorBase,
    StreamNext,
    UnaryNext,
    final_code,
    peer_service,
)
from mesh import context as call_context

ACCESS_LOGGER = "trademesh.access"

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

# Keys whose values never reach a log line, whoever passes them in `extra=`.
_SECRET_KEYS = frozenset(
    {"authorization", "password", "token", "access_token", "refresh_token", "cookie"}
)
_REDACTED = "[redacted]"

# Codes that mean the server (or something behind it) failed, logged as warnings; the rest
# are the caller's problem or success and logged at info.
_SERVER_FAULT_CODES = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)

_installed_handler: logging.Handler | None = None


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, service, the call context
    (correlation_id, method), the active trace, every `extra=` field, and the exception."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        ctx = call_context.current()
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": getattr(record, "service", None) or self.service,
            "correlation_id": getattr(record, "correlation_id", None) or ctx.correlation_id or None,
            "method": getattr(record, "method", None) or ctx.method or None,
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = _REDACTED if key.lower() in _SECRET_KEYS else value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(service: str, level: int | str = logging.INFO) -> logging.Handler:
    """Send every log record of the process to stderr as one JSON line.

    Calling it again replaces the handler it installed before instead of adding a second.
    """
    global _installed_handler
    root = logging.getLogger()
    if _installed_handler is not None:
        root.removeHandler(_installed_handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root.addHandler(handler)
    root.setLevel(level)
    _installed_handler = handler
    return handler


class AccessLogInterceptor(ServerInterceptorBase):
    """Logs one line per finished call: method, type, code, duration and the calling peer.

    Request metadata is never logged: it carries bearer tokens.
    """

    def __init__(self, service: str | None = None, logger: logging.Logger | None = None) -> None:
        self._service = service
        self._logger = logger or logging.getLogger(ACCESS_LOGGER)

    async def intercept_unary_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: UnaryNext
    ) -> Any:
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return await proceed(request, context)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._log(info, context, error, started)

    async def intercept_stream_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: StreamNext
    ) -> AsyncIterator[Any]:
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            async for response in proceed(request, context):
                yield response
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._log(info, context, error, started)

    def _log(
        self, info: RpcInfo, context: Context, error: BaseException | None, started: float
    ) -> None:
        code = final_code(context, error)
        duration_ms = round((time.perf_counter() - started) * 1000.0, 3)
        level = logging.WARNING if code in _SERVER_FAULT_CODES else logging.INFO
        self._logger.log(
            level,
            "%s %s %.1fms",
            info.full_method,
            code.name,
            duration_ms,
            extra={
                "grpc_type": info.grpc_type,
                "grpc_code": code.name,
                "duration_ms": duration_ms,
                "peer_service": peer_service(context),
                "peer": context.peer(),
                **({"service": self._service} if self._service else {}),
            },
        )
