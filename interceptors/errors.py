"""Turning exceptions into gRPC status with google.rpc details, and reading them back."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any, NamedTuple, NoReturn, TypeVar

import grpc
from google.protobuf import any_pb2, duration_pb2, message, message_factory
from google.protobuf import descriptor_pool as protobuf_descriptor_pool
from google.rpc import error_details_pb2, status_pb2
from opentelemetry import trace

from interceptors._handlers import Context, RpcInfo, ServerInterceptorBase, StreamNext, UnaryNext
from mesh import context as call_context
from mesh.errors import DomainError, InvalidArgument, ResourceExhausted

logger = logging.getLogger(__name__)

ERROR_DOMAIN = "trademesh"
STATUS_DETAILS_KEY = "grpc-status-details-bin"
INTERNAL_REASON = "INTERNAL"

_M = TypeVar("_M", bound=message.Message)


class StatusDetails(NamedTuple):
    """A rich status unpacked from an RpcError: unpack it as `code, message, details`."""

    code: grpc.StatusCode
    message: str
    details: list[message.Message]

    def find(self, kind: type[_M]) -> _M | None:
        """The first detail of type `kind` (for example `ErrorInfo`), or None."""
        return next((detail for detail in self.details if isinstance(detail, kind)), None)


def _error_info(error: DomainError) -> message.Message:
    return error_details_pb2.ErrorInfo(
        reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
    )


def _bad_request(error: DomainError) -> message.Message | None:
    if not isinstance(error, InvalidArgument) or not error.violations:
        return None
    return error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field=violation.field, description=violation.description
            )
            for violation in error.violations
        ]
    )


def _retry_info(error: DomainError) -> message.Message | None:
    if not isinstance(error, ResourceExhausted) or error.retry_after_seconds is None:
        return None
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(round(max(error.retry_after_seconds, 0.0) * 1e9))
    return error_details_pb2.RetryInfo(retry_delay=delay)


# The details each domain error carries, in order; a builder returns None when it has
# nothing to say about the error.
_DETAIL_BUILDERS: tuple[Callable[[DomainError], message.Message | None], ...] = (
    _error_info,
    _bad_request,
    _retry_info,
)


def status_for(error: DomainError) -> status_pb2.Status:
    """The google.rpc.Status a domain error is answered with."""
    status = status_pb2.Status(code=error.code.value[0], message=error.message)
    for build in _DETAIL_BUILDERS:
        detail = build(error)
        if detail is not None:
            status.details.add().Pack(detail)
    return status


async def abort_with(context: Context, error: DomainError) -> NoReturn:
    """End the call with `error`'s status and rich details (raises grpc's AbortError)."""
    await _abort(context, error.code, status_for(error))


async def abort_internal(context: Context, error: BaseException) -> NoReturn:
    """End the call as INTERNAL after an unexpected exception, which goes to the log only."""
    correlation_id = call_context.current().correlation_id
    logger.error("unhandled exception in %s", call_context.current().method, exc_info=error)
    trace.get_current_span().record_exception(error)
    status = status_pb2.Status(
        code=grpc.StatusCode.INTERNAL.value[0],
        message=f"internal error (correlation id {correlation_id})",
    )
    status.details.add().Pack(
        error_details_pb2.ErrorInfo(
            reason=INTERNAL_REASON,
            domain=ERROR_DOMAIN,
            metadata={"correlation_id": correlation_id},
        )
    )
    await _abort(context, grpc.StatusCode.INTERNAL, status)


async def _abort(context: Context, code: grpc.StatusCode, status: status_pb2.Status) -> NoReturn:
    await context.abort(
        code,
        status.message,
        trailing_metadata=((STATUS_DETAILS_KEY, status.SerializeToString()),),
    )


# An upstream call's failure that the handler did not handle: what this call answers.
# Only failures that mean the same thing to our caller pass through; anything else is a
# bug in this service as far as the caller can tell.
_UPSTREAM_CODES: dict[grpc.StatusCode, grpc.StatusCode] = {
    grpc.StatusCode.DEADLINE_EXCEEDED: grpc.StatusCode.DEADLINE_EXCEEDED,  # the shared deadline
    grpc.StatusCode.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,  # retryable by our caller too
    grpc.StatusCode.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,  # the forwarded token
}


async def answer_error(context: Context, error: Exception) -> NoReturn:
    """Answer the call for an exception its handler raised (an abort passes unchanged)."""
    if isinstance(error, grpc.aio.AbortError):
        raise error  # the status is already set
    if isinstance(error, DomainError):
        await abort_with(context, error)
    upstream_code = getattr(error, "code", None) if isinstance(error, grpc.RpcError) else None
    code = _UPSTREAM_CODES.get(upstream_code()) if callable(upstream_code) else None
    if code is not None:
        logger.warning("upstream call failed with %s", code.name)
        status = status_pb2.Status(code=code.value[0], message="upstream call failed")
        status.details.add().Pack(
            error_details_pb2.ErrorInfo(reason=f"UPSTREAM_{code.name}", domain=ERROR_DOMAIN)
        )
        await _abort(context, code, status)
    await abort_internal(context, error)


class ErrorInterceptor(ServerInterceptorBase):
    """Innermost: maps what the handler raises to a status, so every outer interceptor sees
    the final code. A status set with `context.abort` passes through unchanged."""

    async def intercept_unary_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: UnaryNext
    ) -> Any:
        try:
            return await proceed(request, context)
        except Exception as exc:
            await answer_error(context, exc)

    async def intercept_stream_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: StreamNext
    ) -> AsyncIterator[Any]:
        try:
            async with aclosing(proceed(request, context)) as responses:
                async for response in responses:
                    yield response
        except Exception as exc:
            await answer_error(context, exc)


def status_details(error: grpc.RpcError) -> StatusDetails:
    """Code, message and unpacked google.rpc details of a failed call.

    Details come from the `grpc-status-details-bin` trailer; a detail of a type this process
    does not know stays a packed `google.protobuf.Any`.
    """
    code: grpc.StatusCode = error.code()
    text: str = error.details() or ""
    status = _trailing_status(error.trailing_metadata())
    if status is None or status.code != code.value[0]:
        return StatusDetails(code, text, [])
    return StatusDetails(code, status.message or text, [_unpack(item) for item in status.details])


def _trailing_status(metadata: Any) -> status_pb2.Status | None:
    for key, value in metadata or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            try:
                return status_pb2.Status.FromString(value)
            except message.DecodeError:
                return None
    return None


def _unpack(packed: any_pb2.Any) -> message.Message:
    try:
        descriptor = protobuf_descriptor_pool.Default().FindMessageTypeByName(packed.TypeName())
    except KeyError:
        return packed
    detail = message_factory.GetMessageClass(descriptor)()
    return detail if packed.Unpack(detail) else packed
