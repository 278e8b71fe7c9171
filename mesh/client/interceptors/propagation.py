"""Outgoing calls carry on the current call: correlation id, user token and deadline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

import grpc

from mesh import context as call_context
from mesh.client.interceptors._base import (
    ClientInterceptorBase,
    RequestIterable,
    StreamStreamContinuation,
    StreamUnaryContinuation,
    UnaryStreamContinuation,
    UnaryUnaryContinuation,
)
from mesh.rpc import AUTHORIZATION_KEY, CORRELATION_ID_KEY, bearer_metadata

_TRequest = TypeVar("_TRequest")
_TResponse = TypeVar("_TResponse")


def propagated_details(details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
    """`details` with what the current call context passes on to the next hop.

    The correlation id and the user's token are added unless the call sets its own; the
    timeout becomes the shorter of the call's own and what is left of the current deadline.
    """
    ctx = call_context.current()
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    if ctx.correlation_id and metadata.get(CORRELATION_ID_KEY) is None:
        metadata.add(CORRELATION_ID_KEY, ctx.correlation_id)
    if ctx.principal is not None and metadata.get(AUTHORIZATION_KEY) is None:
        metadata.add(*bearer_metadata(ctx.principal.token))
    timeout = details.timeout
    remaining = ctx.remaining_seconds()
    if remaining is not None:
        remaining = max(remaining, 0.0)
        timeout = remaining if timeout is None else min(timeout, remaining)
    return grpc.aio.ClientCallDetails(
        details.method, timeout, metadata, details.credentials, details.wait_for_ready
    )


def _checked(details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
    details = propagated_details(details)
    if details.timeout is not None and details.timeout <= 0:
        # grpc would still send a call whose deadline has passed, and on loopback the
        # answer can beat the local timer; the caller has given up already.
        raise grpc.aio.AioRpcError(
            grpc.StatusCode.DEADLINE_EXCEEDED,
            grpc.aio.Metadata(),
            grpc.aio.Metadata(),
            details="deadline exceeded before the call was made",
        )
    return details


class ContextPropagationInterceptor(ClientInterceptorBase):
    """Adds the current call's context to outgoing calls of every kind (see
    `propagated_details`); a call made after the current deadline fails with
    DEADLINE_EXCEEDED without being sent."""

    async def intercept_unary_unary(
        self,
        continuation: UnaryUnaryContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request: _TRequest,
    ) -> _TResponse | grpc.aio.UnaryUnaryCall[_TRequest, _TResponse]:
        return await continuation(_checked(client_call_details), request)

    async def intercept_unary_stream(
        self,
        continuation: UnaryStreamContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request: _TRequest,
    ) -> AsyncIterator[_TResponse] | grpc.aio.UnaryStreamCall[_TRequest, _TResponse]:
        return await continuation(_checked(client_call_details), request)

    async def intercept_stream_unary(
        self,
        continuation: StreamUnaryContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: RequestIterable[_TRequest],
    ) -> grpc.aio.StreamUnaryCall[_TRequest, _TResponse]:
        return await continuation(_checked(client_call_details), request_iterator)

    async def intercept_stream_stream(
        self,
        continuation: StreamStreamContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: RequestIterable[_TRequest],
    ) -> AsyncIterator[_TResponse] | grpc.aio.StreamStreamCall[_TRequest, _TResponse]:
        return await continuation(_checked(client_call_details), request_iterator)
