"""What a failed call means: whether it says the instance is unhealthy, and whether (and
after how long) it may be sent again elsewhere."""

from __future__ import annotations

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"
IDEMPOTENCY_KEY = "idempotency-key"

# Codes that say the instance is unhealthy and count against its breaker. An answer such as
# INVALID_ARGUMENT, NOT_FOUND or PERMISSION_DENIED is the instance working as it should.
UNHEALTHY: frozenset[grpc.StatusCode] = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
    }
)


def rpc_status(error: grpc.aio.AioRpcError) -> status_pb2.Status | None:
    """The google.rpc.Status the server sent in the trailers, if it sent one."""
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            try:
                return status_pb2.Status.FromString(value)
            except DecodeError:
                return None
    return None


def retry_info_seconds(error: grpc.aio.AioRpcError) -> float | None:
    """The delay a google.rpc.RetryInfo detail asks for, or None without one."""
    status = rpc_status(error)
    if status is None:
        return None
    for detail in status.details:
        info = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            return info.retry_delay.ToTimedelta().total_seconds()
    return None


def retry_floor(error: grpc.aio.AioRpcError) -> float | None:
    """None when `error` must not be retried; else the least pause before retrying it.
    UNAVAILABLE means "try elsewhere"; RESOURCE_EXHAUSTED only when the server said when."""
    code = error.code()
    if code is grpc.StatusCode.UNAVAILABLE:
        return retry_info_seconds(error) or 0.0
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        return retry_info_seconds(error)
    return None


def carries_idempotency_key(metadata: object) -> bool:
    """Whether a call's metadata carries an idempotency key: its caller vouches that sending
    it twice does no harm, so any method may then be retried."""
    if not metadata:
        return False
    for item in metadata:  # type: ignore[attr-defined]
        if isinstance(item, tuple) and item and item[0] == IDEMPOTENCY_KEY:
            return True
    return False
