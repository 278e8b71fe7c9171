"""Domain errors and unexpected exceptions as gRPC status with google.rpc details."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from interceptors import ServerInterceptorConfig, status_details

from . import probe
from .conftest import CALL_TIMEOUT_SECONDS, JsonLines, serving

T = CALL_TIMEOUT_SECONDS


async def _fail(server_config: ServerInterceptorConfig, value: str) -> grpc.aio.AioRpcError:
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await probe.ProbeClient(ch).unary(
                probe.StringValue(value=value),
                metadata=(("x-correlation-id", f"err-{value}"),),
                timeout=T,
            )
    return raised.value


async def test_domain_error_becomes_its_code_with_error_info(
    server_config: ServerInterceptorConfig,
) -> None:
    error = await _fail(server_config, "not_found")

    code, message, details = status_details(error)
    assert (code, message) == (grpc.StatusCode.NOT_FOUND, "order not found")
    [info] = details
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "NOT_FOUND",
        "trademesh",
        {"order_id": "o-1"},
    )


async def test_invalid_argument_carries_bad_request(
    server_config: ServerInterceptorConfig,
) -> None:
    error = await _fail(server_config, "invalid")

    details = status_details(error)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    info = details.find(error_details_pb2.ErrorInfo)
    assert info is not None and info.reason == "BAD_QUANTITY"
    bad_request = details.find(error_details_pb2.BadRequest)
    assert bad_request is not None
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("quantity", "must be positive")
    ]


async def test_resource_exhausted_carries_retry_info(
    server_config: ServerInterceptorConfig,
) -> None:
    error = await _fail(server_config, "exhausted")

    details = status_details(error)
    assert details.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    retry = details.find(error_details_pb2.RetryInfo)
    assert retry is not None
    assert retry.retry_delay.ToNanoseconds() == 1_500_000_000


async def test_an_explicit_abort_passes_through(server_config: ServerInterceptorConfig) -> None:
    error = await _fail(server_config, "abort")

    assert status_details(error) == (grpc.StatusCode.FAILED_PRECONDITION, "market is closed", [])


async def test_unexpected_exception_is_internal_with_the_correlation_id_only(
    server_config: ServerInterceptorConfig, json_logs: JsonLines
) -> None:
    error = await _fail(server_config, "boom")

    code, message, details = status_details(error)
    assert code == grpc.StatusCode.INTERNAL
    assert message == "internal error (correlation id err-boom)"
    assert error.details() == message
    [info] = details
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert (info.reason, dict(info.metadata)) == ("INTERNAL", {"correlation_id": "err-boom"})
    leaked = repr(error.trailing_metadata()) + repr(error.debug_error_string())
    assert "secret" not in leaked and "ValueError" not in leaked
    [logged] = [entry for entry in json_logs.entries if entry["level"] == "ERROR"]
    assert logged["correlation_id"] == "err-boom"
    assert "ValueError: secret internal detail" in logged["exception"]
    assert "probe.py" in logged["exception"]  # the stack goes to the log


async def test_an_unhandled_upstream_failure(server_config: ServerInterceptorConfig) -> None:
    unavailable = await _fail(server_config, "upstream_unavailable")
    not_found = await _fail(server_config, "upstream_not_found")

    assert unavailable.code() == grpc.StatusCode.UNAVAILABLE
    info = status_details(unavailable).find(error_details_pb2.ErrorInfo)
    assert info is not None and info.reason == "UPSTREAM_UNAVAILABLE"
    # An upstream NOT_FOUND the handler did not handle says nothing true about this call.
    assert not_found.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in repr(not_found.trailing_metadata()) + (not_found.details() or "")


async def test_errors_in_a_server_stream_after_messages(
    server_config: ServerInterceptorConfig,
) -> None:
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        received: list[str] = []
        with pytest.raises(grpc.aio.AioRpcError) as domain:
            async for response in probe.ProbeClient(ch).server_stream(
                probe.StringValue(value="2:not_found"), timeout=T
            ):
                received.append(response.value)
        with pytest.raises(grpc.aio.AioRpcError) as internal:
            async for _ in probe.ProbeClient(ch).server_stream(
                probe.StringValue(value="1:boom"), timeout=T
            ):
                pass

    assert received == ["0", "1"]
    assert status_details(domain.value).code == grpc.StatusCode.NOT_FOUND
    assert status_details(domain.value).find(error_details_pb2.ErrorInfo) is not None
    assert internal.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (internal.value.details() or "")


def _error_with(code: grpc.StatusCode, status: status_pb2.Status | None) -> grpc.aio.AioRpcError:
    trailing = grpc.aio.Metadata()
    if status is not None:
        trailing.add("grpc-status-details-bin", status.SerializeToString())
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailing, details="plain")


def test_status_details_without_rich_status() -> None:
    assert status_details(_error_with(grpc.StatusCode.UNAVAILABLE, None)) == (
        grpc.StatusCode.UNAVAILABLE,
        "plain",
        [],
    )


def test_status_details_ignores_a_status_for_another_code() -> None:
    status = status_pb2.Status(code=grpc.StatusCode.NOT_FOUND.value[0], message="other")

    details = status_details(_error_with(grpc.StatusCode.INTERNAL, status))

    assert details == (grpc.StatusCode.INTERNAL, "plain", [])


def test_status_details_keeps_unknown_detail_types_packed() -> None:
    status = status_pb2.Status(code=grpc.StatusCode.ABORTED.value[0], message="rich")
    status.details.add().Pack(error_details_pb2.ErrorInfo(reason="CONFLICT"))
    status.details.append(any_pb2.Any(type_url="type.example.com/x.Unknown", value=b"\x08\x01"))

    code, message, details = status_details(_error_with(grpc.StatusCode.ABORTED, status))

    assert (code, message) == (grpc.StatusCode.ABORTED, "rich")
    assert isinstance(details[0], error_details_pb2.ErrorInfo)
    assert isinstance(details[1], any_pb2.Any)
