"""The status a draining instance ends its open streams with, and the predicate callers use to
recognise it: UNAVAILABLE with `google.rpc.ErrorInfo(reason="DRAINING")` and a zero
`google.rpc.RetryInfo` — "reopen the stream on another instance, now"."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import duration_pb2, message
from google.rpc import error_details_pb2, status_pb2

DRAINING_REASON = "DRAINING"
DRAINING_DOMAIN = "trademesh.mesh"
STATUS_DETAILS_KEY = "grpc-status-details-bin"
DRAINING_CODE = grpc.StatusCode.UNAVAILABLE

_ERROR_INFO = error_details_pb2.ErrorInfo.DESCRIPTOR.full_name


def draining_status(service: str) -> status_pb2.Status:
    """The google.rpc.Status a draining instance of `service` ends a stream with."""
    status = status_pb2.Status(
        code=DRAINING_CODE.value[0],
        message=f"{service} instance is draining; reopen the stream on another instance",
    )
    status.details.add().Pack(
        error_details_pb2.ErrorInfo(
            reason=DRAINING_REASON, domain=DRAINING_DOMAIN, metadata={"service": service}
        )
    )
    status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration()))
    return status


def is_draining(error: grpc.aio.AioRpcError) -> bool:
    """Whether a call failed because its instance is draining (so another instance will
    serve it): UNAVAILABLE carrying the DRAINING ErrorInfo of the mesh."""
    failed: Any = error  # any grpc.Call: code() and trailing_metadata() are what is read
    if failed.code() != DRAINING_CODE:
        return False
    for key, value in failed.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            return _names_draining(value)
    return False


def _names_draining(raw: bytes) -> bool:
    try:
        status = status_pb2.Status.FromString(raw)
    except message.DecodeError:
        return False
    for item in status.details:
        if item.TypeName() == _ERROR_INFO:
            info = error_details_pb2.ErrorInfo()
            if item.Unpack(info) and info.reason == DRAINING_REASON:
                return info.domain == DRAINING_DOMAIN
    return False
