"""What a failed call means: retry_floor for the codes that may be retried, RetryInfo read
from the grpc-status-details-bin trailer, and the codes that count against a breaker. The
errors are real grpc.aio.AioRpcError values with the trailers a server would send."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from mesh.resilience.policy import (
    STATUS_DETAILS_KEY,
    UNHEALTHY,
    carries_idempotency_key,
    retry_floor,
    retry_info_seconds,
)

Code = grpc.StatusCode


def _error(
    code: grpc.StatusCode, retry_delay: timedelta | None = None, *, extra: bytes | None = None
) -> grpc.aio.AioRpcError:
    trailers: list[tuple[str, str | bytes]] = [("x-other", "1")]
    if retry_delay is not None:
        info = error_details_pb2.RetryInfo(
            retry_delay=duration_pb2.Duration(
                seconds=int(retry_delay.total_seconds()),
                nanos=retry_delay.microseconds * 1000,
            )
        )
        packed = any_pb2.Any()
        packed.Pack(error_details_pb2.ErrorInfo(reason="SOMETHING"))
        detail = any_pb2.Any()
        detail.Pack(info)
        status = status_pb2.Status(
            code=code.value[0], message="try later", details=[packed, detail]
        )
        trailers.append((STATUS_DETAILS_KEY, status.SerializeToString()))
    if extra is not None:
        trailers.append((STATUS_DETAILS_KEY, extra))
    return grpc.aio.AioRpcError(
        code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers), details="failed"
    )


def test_unavailable_is_retried_at_once() -> None:
    assert retry_floor(_error(Code.UNAVAILABLE)) == 0.0


def test_unavailable_with_retry_info_waits_as_asked() -> None:
    assert retry_floor(_error(Code.UNAVAILABLE, timedelta(milliseconds=250))) == pytest.approx(0.25)
    assert retry_floor(_error(Code.UNAVAILABLE, timedelta(seconds=2))) == pytest.approx(2.0)


def test_resource_exhausted_is_retried_only_with_retry_info() -> None:
    assert retry_floor(_error(Code.RESOURCE_EXHAUSTED)) is None
    floor = retry_floor(_error(Code.RESOURCE_EXHAUSTED, timedelta(milliseconds=100)))
    assert floor == pytest.approx(0.1)


def test_resource_exhausted_with_a_zero_retry_delay_is_retried() -> None:
    assert retry_floor(_error(Code.RESOURCE_EXHAUSTED, timedelta(0))) == 0.0


@pytest.mark.parametrize(
    "code",
    [
        Code.DEADLINE_EXCEEDED,
        Code.INTERNAL,
        Code.UNKNOWN,
        Code.INVALID_ARGUMENT,
        Code.NOT_FOUND,
        Code.PERMISSION_DENIED,
        Code.UNAUTHENTICATED,
        Code.FAILED_PRECONDITION,
        Code.ABORTED,
        Code.CANCELLED,
    ],
)
def test_other_codes_are_not_retried_even_with_retry_info(code: grpc.StatusCode) -> None:
    assert retry_floor(_error(code)) is None
    assert retry_floor(_error(code, timedelta(milliseconds=10))) is None


def test_malformed_status_details_are_ignored() -> None:
    error = _error(Code.RESOURCE_EXHAUSTED, extra=b"\xff\xff not a status")
    assert retry_info_seconds(error) is None
    assert retry_floor(error) is None
    assert retry_floor(_error(Code.UNAVAILABLE, extra=b"\xff\xff")) == 0.0


def test_status_without_retry_info_has_no_delay() -> None:
    status = status_pb2.Status(code=Code.RESOURCE_EXHAUSTED.value[0], message="full")
    error = _error(Code.RESOURCE_EXHAUSTED, extra=status.SerializeToString())
    assert retry_info_seconds(error) is None


def test_the_unhealthy_codes() -> None:
    assert (
        frozenset({Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.INTERNAL, Code.UNKNOWN})
        == UNHEALTHY
    )


@pytest.mark.parametrize(
    "code",
    [
        Code.INVALID_ARGUMENT,
        Code.NOT_FOUND,
        Code.PERMISSION_DENIED,
        Code.UNAUTHENTICATED,
        Code.ALREADY_EXISTS,
        Code.FAILED_PRECONDITION,
        Code.RESOURCE_EXHAUSTED,
        Code.CANCELLED,
    ],
)
def test_answers_of_a_working_instance_are_not_unhealthy(code: grpc.StatusCode) -> None:
    assert code not in UNHEALTHY


def test_idempotency_key_in_metadata() -> None:
    assert carries_idempotency_key((("idempotency-key", "k-1"),))
    assert carries_idempotency_key(grpc.aio.Metadata(("a", "1"), ("idempotency-key", "k")))
    assert not carries_idempotency_key((("authorization", "Bearer x"),))
    assert not carries_idempotency_key(None)
    assert not carries_idempotency_key(())
