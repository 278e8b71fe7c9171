"""One error contract for everything the edge answers: gRPC status → HTTP status in one table,
and every error body a `google.rpc.Status` in proto3 JSON with its details, whether it comes
from a service, from the edge itself, from a stream's final frame or a Socket.IO ack."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

import grpc
from google.protobuf import any_pb2, json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2

from interceptors.errors import ERROR_DOMAIN, STATUS_DETAILS_KEY

log = logging.getLogger(__name__)

# gRPC code → HTTP status. Deliberate choices, as grpc-gateway makes them:
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    # The request cannot succeed in the current state: a client error the caller can read
    # and act on, not 412 (which is about HTTP preconditions such as If-Match).
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    # The client went away (nginx's 499): nobody reads it, but logs and metrics tell it apart.
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
# UNKNOWN, INTERNAL, DATA_LOSS and any code added later: a server fault, logged.
DEFAULT_HTTP_STATUS = 500

_BY_NUMBER: dict[int, grpc.StatusCode] = {code.value[0]: code for code in grpc.StatusCode}


def http_status(code: grpc.StatusCode) -> int:
    return HTTP_STATUS.get(code, DEFAULT_HTTP_STATUS)


def grpc_code(status: status_pb2.Status) -> grpc.StatusCode:
    return _BY_NUMBER.get(status.code, grpc.StatusCode.UNKNOWN)


def pack(details: Iterable[Message]) -> list[any_pb2.Any]:
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    return packed


def make_status(
    code: grpc.StatusCode, message: str, details: Iterable[Message] = ()
) -> status_pb2.Status:
    return status_pb2.Status(code=code.value[0], message=message, details=pack(details))


def error_info(reason: str, **metadata: str) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata)


def bad_request(field: str, description: str) -> error_details_pb2.BadRequest:
    return error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
        ]
    )


class EdgeError(Exception):
    """An error the edge answers by itself, before or instead of calling a service.

    `http_status` overrides the table when HTTP has a more precise answer than the gRPC code
    (405 with `Allow`, 413, 415); `headers` go on the response."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        details: Iterable[Message] = (),
        http_status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = make_status(code, message, details)
        self.http_status = http_status or HTTP_STATUS.get(code, DEFAULT_HTTP_STATUS)
        self.headers = dict(headers or {})

    @classmethod
    def invalid(cls, field: str, description: str) -> EdgeError:
        """400 naming the field (dotted JSON path; "" for the body as a whole)."""
        where = f"{field}: " if field else ""
        return cls(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"{where}{description}",
            details=[error_info("INVALID_REQUEST"), bad_request(field, description)],
        )


def status_from_rpc_error(error: grpc.RpcError) -> status_pb2.Status:
    """The full google.rpc.Status of a failed call: from the `grpc-status-details-bin`
    trailer when the service sent one with a matching code, else from code and message."""
    failed: Any = error  # grpc.aio.AioRpcError or a sync grpc.Call: the same three methods
    code: grpc.StatusCode = failed.code()
    text: str = failed.details() or ""
    for key, value in failed.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            try:
                status = status_pb2.Status.FromString(value)
            except DecodeError:
                break
            if status.code == code.value[0]:
                if not status.message:
                    status.message = text
                return status
            break
    return status_pb2.Status(code=code.value[0], message=text)


def status_json(status: status_pb2.Status) -> dict[str, Any]:
    """`{"code": 5, "message": "...", "details": [{"@type": ..., ...}]}`; a detail of a type
    this process does not know is given by its type URL alone."""
    body: dict[str, Any] = {"code": status.code, "message": status.message}
    details = []
    for item in status.details:
        try:
            details.append(json_format.MessageToDict(item))
        except (TypeError, KeyError, json_format.Error):
            details.append({"@type": item.type_url})
    body["details"] = details
    return body


def retry_after_seconds(status: status_pb2.Status) -> int | None:
    """Whole seconds from the status's RetryInfo, rounded up, or None."""
    for item in status.details:
        if item.TypeName() == error_details_pb2.RetryInfo.DESCRIPTOR.full_name:
            info = error_details_pb2.RetryInfo()
            item.Unpack(info)
            return max(1, math.ceil(info.retry_delay.ToNanoseconds() / 1e9))
    return None


def error_headers(status: status_pb2.Status) -> dict[str, str]:
    """Headers an error answer carries besides its body."""
    headers: dict[str, str] = {}
    code = grpc_code(status)
    if code is grpc.StatusCode.UNAUTHENTICATED:
        headers["WWW-Authenticate"] = 'Bearer realm="trademesh", error="invalid_token"'
    elif code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        delay = retry_after_seconds(status)
        if delay is not None:
            headers["Retry-After"] = str(delay)
    return headers


def log_if_server_fault(status: status_pb2.Status, route: str) -> None:
    """Statuses that map to the 500 default are logged: nobody chose to answer them."""
    code = grpc_code(status)
    if code not in HTTP_STATUS:
        log.error(
            "upstream failed",
            extra={"route": route, "grpc_code": code.name, "detail": status.message},
        )
