"""JSON log lines carrying the call context: the formatter and the process's log set-up."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

from opentelemetry import trace

from mesh import context as call_context
from mesh.observability.quiet import RepeatFilter

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
    handler.addFilter(RepeatFilter())
    root.addHandler(handler)
    root.setLevel(level)
    _installed_handler = handler
    return handler
