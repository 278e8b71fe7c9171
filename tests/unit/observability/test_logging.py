"""JSON log lines: the call context and extras on every record, secrets redacted, one handler."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import pytest

from mesh import context as call_context
from mesh.observability import JsonFormatter, configure_logging


def _format(
    record_logger: logging.Logger, formatter: JsonFormatter, **extra: object
) -> dict[str, Any]:
    record = record_logger.makeRecord(
        record_logger.name,
        logging.INFO,
        __file__,
        1,
        "order %s placed",
        ("o-1",),
        None,
        extra=extra,
    )
    entry: dict[str, Any] = json.loads(formatter.format(record))
    return entry


def test_formatter_adds_context_and_extras_and_redacts_secrets() -> None:
    formatter = JsonFormatter("trading")
    logger = logging.getLogger("trading.orders")
    with call_context.bind(correlation_id="fmt-1", method="/trademesh.trading.v1.T/Place"):
        entry = _format(logger, formatter, order_id="o-1", authorization="Bearer secret-token")

    assert entry["message"] == "order o-1 placed"
    assert entry["service"] == "trading"
    assert entry["correlation_id"] == "fmt-1"
    assert entry["method"] == "/trademesh.trading.v1.T/Place"
    assert entry["order_id"] == "o-1"
    assert entry["authorization"] == "[redacted]"
    assert entry["logger"] == "trading.orders"
    assert entry["time"].endswith("+00:00")


def test_formatter_outside_a_call_has_no_context() -> None:
    entry = _format(logging.getLogger("x"), JsonFormatter("trading"))

    assert entry["correlation_id"] is None
    assert entry["method"] is None
    assert "trace_id" not in entry


def test_formatter_includes_the_exception() -> None:
    formatter = JsonFormatter("trading")
    try:
        raise KeyError("missing")
    except KeyError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    entry = json.loads(formatter.format(record))

    assert "KeyError: 'missing'" in entry["exception"]


def test_configure_logging_installs_one_json_handler(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before_handlers, before_level = list(root.handlers), root.level
    try:
        configure_logging("portfolio", "DEBUG")
        handler = configure_logging("portfolio", logging.INFO)
        added = [h for h in root.handlers if h not in before_handlers]
        assert added == [handler]
        assert root.level == logging.INFO

        logging.getLogger("portfolio.test").info("hello %s", "json")
        line = capsys.readouterr().err.strip().splitlines()[-1]
        entry = json.loads(line)
        assert (entry["message"], entry["service"]) == ("hello json", "portfolio")
    finally:
        for h in list(root.handlers):
            if h not in before_handlers:
                root.removeHandler(h)
        root.setLevel(before_level)
