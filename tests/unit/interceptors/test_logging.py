"""The access log: one JSON line per call with the call context, never a secret."""

from __future__ import annotations

import dataclasses
import logging

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from interceptors import AccessLogConfig, ServerInterceptorConfig
from mesh.config import ConfigError

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


async def test_successful_health_checks_log_at_debug_and_failed_ones_at_info(
    server_config: ServerInterceptorConfig, json_logs: JsonLines
) -> None:
    def add_health(server: grpc.aio.Server) -> None:
        health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)

    async with (
        serving(server_config, add_health) as server,
        grpc.aio.insecure_channel(server.address) as ch,
    ):
        stub = health_pb2_grpc.HealthStub(ch)
        await stub.Check(
            health_pb2.HealthCheckRequest(service=""),
            metadata=(("x-correlation-id", "health-ok"),),
            timeout=CALL_TIMEOUT_SECONDS,
        )
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Check(
                health_pb2.HealthCheckRequest(service="no.such.Service"),
                metadata=(("x-correlation-id", "health-unknown"),),
                timeout=CALL_TIMEOUT_SECONDS,
            )
        logging.getLogger().setLevel(logging.DEBUG)  # the fixture puts the level back
        await stub.Check(
            health_pb2.HealthCheckRequest(service=""),
            metadata=(("x-correlation-id", "health-debug"),),
            timeout=CALL_TIMEOUT_SECONDS,
        )

    by_id = {entry["correlation_id"]: entry for entry in json_logs.access_entries()}
    assert "health-ok" not in by_id
    assert (by_id["health-unknown"]["grpc_code"], by_id["health-unknown"]["level"]) == (
        "NOT_FOUND",
        "INFO",
    )
    assert (by_id["health-debug"]["grpc_code"], by_id["health-debug"]["level"]) == ("OK", "DEBUG")


async def test_with_a_zero_sample_rate_only_failed_calls_are_logged(
    server_config: ServerInterceptorConfig, json_logs: JsonLines
) -> None:
    config = dataclasses.replace(server_config, access_log=AccessLogConfig(0.0))
    async with serving(config) as server, grpc.aio.insecure_channel(server.address) as ch:
        client = probe.ProbeClient(ch)
        for value in ("", "not_found"):
            call = client.unary(
                probe.StringValue(value=value),
                metadata=(("x-correlation-id", f"sampled-{value or 'ok'}"),),
                timeout=CALL_TIMEOUT_SECONDS,
            )
            if value:
                with pytest.raises(grpc.aio.AioRpcError):
                    await call
            else:
                await call

    logged = {entry["correlation_id"] for entry in json_logs.access_entries()}
    assert logged == {"sampled-not_found"}


async def test_the_sample_rate_is_read_from_the_environment(
    server_config: ServerInterceptorConfig, json_logs: JsonLines, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEMESH_ACCESS_LOG_SUCCESS_SAMPLE_RATE", "0")
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        await probe.ProbeClient(ch).unary(
            probe.StringValue(),
            metadata=(("x-correlation-id", "from-env"),),
            timeout=CALL_TIMEOUT_SECONDS,
        )

    assert [e for e in json_logs.access_entries() if e["correlation_id"] == "from-env"] == []


@pytest.mark.parametrize("rate", [-0.1, 1.5, True])
def test_a_sample_rate_outside_0_to_1_is_refused(rate: float) -> None:
    with pytest.raises(ConfigError) as raised:
        AccessLogConfig(rate)
    assert raised.value.key == "access_log.success_sample_rate"
