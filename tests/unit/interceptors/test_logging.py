"""JSON log lines: the call context on every record, one access line per call, no secrets."""

from __future__ import annotations

import json
import logging
import sys

import grpc
import pytest

from interceptors import JsonFormatter, ServerInterceptorConfig, configure_logging
from mesh import context as call_context

from . import probe
from .conftest import CALL_TIMEOUT_SECONDS, JsonLines, Tokens, bearer, serving


async def test_one_access_line_per_call_with_the_correlation_id(
    server_config: ServerInterceptorConfig, json_logs: JsonLines, tokens: Tokens
) -> None:
    token = tokens.access("viewer")
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        await probe.ProbeClient(ch).unary(
            probe.StringValue(),
            metadata=(("x-correlation-id", "log-line-1"), *bearer(token)),
            timeout=CALL_TIMEOUT_SECONDS,
        )

    [entry] = [e for e in json_logs.access_entries() if e["correlation_id"] == "log-line-1"]
    assert entry["service"] == "probe"
    assert entry["method"] == probe.method("Unary")
    assert entry["grpc_type"] == "unary"
    assert entry["grpc_code"] == "OK"
    assert entry["level"] == "INFO"
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert entry["peer_service"] is None  # plaintext: no mesh identity
    assert entry["peer"].startswith("ipv4:127.0.0.1:")
    assert all(token not in line for line in json_logs.lines)
    assert all("authorization" not in line.lower() for line in json_logs.lines)


async def test_failed_calls_log_their_code_and_server_faults_warn(
    server_config: ServerInterceptorConfig, json_logs: JsonLines
) -> None:
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        client = probe.ProbeClient(ch)
        for value in ("not_found", "boom"):
            with pytest.raises(grpc.aio.AioRpcError):
                await client.unary(
                    probe.StringValue(value=value),
                    metadata=(("x-correlation-id", f"log-{value}"),),
                    timeout=CALL_TIMEOUT_SECONDS,
                )

    by_id = {entry["correlation_id"]: entry for entry in json_logs.access_entries()}
    assert (by_id["log-not_found"]["grpc_code"], by_id["log-not_found"]["level"]) == (
        "NOT_FOUND",
        "INFO",
    )
    assert (by_id["log-boom"]["grpc_code"], by_id["log-boom"]["level"]) == (
        "INTERNAL",
        "WARNING",
    )


async def test_handler_log_lines_carry_the_call_context(
    server_config: ServerInterceptorConfig, json_logs: JsonLines
) -> None:
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        with pytest.raises(grpc.aio.AioRpcError):
            await probe.ProbeClient(ch).unary(
                probe.StringValue(value="boom"),
                metadata=(("x-correlation-id", "traced-error-1"),),
                timeout=CALL_TIMEOUT_SECONDS,
            )

    [error] = [e for e in json_logs.entries if e["level"] == "ERROR"]
    assert error["correlation_id"] == "traced-error-1"
    assert error["method"] == probe.method("Unary")
    assert len(error["trace_id"]) == 32 and len(error["span_id"]) == 16
    assert "ValueError: secret internal detail" in error["exception"]


def _format(record_logger: logging.Logger, formatter: JsonFormatter, **extra: object) -> dict:
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
    return json.loads(formatter.format(record))


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
