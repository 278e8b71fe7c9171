"""Client interceptor plumbing: one object per concern for all four call kinds."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from typing import TypeAlias, TypeVar

import grpc

_TRequest = TypeVar("_TRequest")
_TResponse = TypeVar("_TResponse")

RequestIterable: TypeAlias = AsyncIterable[_TRequest] | Iterable[_TRequest]

UnaryUnaryContinuation: TypeAlias = Callable[
    [grpc.aio.ClientCallDetails, _TRequest],
    Awaitable["grpc.aio.UnaryUnaryCall[_TRequest, _TResponse]"],
]
UnaryStreamContinuation: TypeAlias = Callable[
    [grpc.aio.ClientCallDetails, _TRequest],
    Awaitable["grpc.aio.UnaryStreamCall[_TRequest, _TResponse]"],
]
StreamUnaryContinuation: TypeAlias = Callable[
    [grpc.aio.ClientCallDetails, RequestIterable[_TRequest]],
    Awaitable["grpc.aio.StreamUnaryCall[_TRequest, _TResponse]"],
]
StreamStreamContinuation: TypeAlias = Callable[
    [grpc.aio.ClientCallDetails, RequestIterable[_TRequest]],
    Awaitable["grpc.aio.StreamStreamCall[_TRequest, _TResponse]"],
]


class ClientInterceptorBase:
    """A client interceptor for the four call kinds; each hook passes the call through
    unchanged unless overridden.

    grpc.aio files an interceptor object under the first call kind it implements and
    nowhere else, so a channel gets one adapter per kind (see `for_channel`).
    """

    async def intercept_unary_unary(
        self,
        continuation: UnaryUnaryContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request: _TRequest,
    ) -> _TResponse | grpc.aio.UnaryUnaryCall[_TRequest, _TResponse]:
        return await continuation(client_call_details, request)

    async def intercept_unary_stream(
        self,
        continuation: UnaryStreamContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request: _TRequest,
    ) -> AsyncIterator[_TResponse] | grpc.aio.UnaryStreamCall[_TRequest, _TResponse]:
        return await continuation(client_call_details, request)

    async def intercept_stream_unary(
        self,
        continuation: StreamUnaryContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: RequestIterable[_TRequest],
    ) -> grpc.aio.StreamUnaryCall[_TRequest, _TResponse]:
        return await continuation(client_call_details, request_iterator)

    async def intercept_stream_stream(
        self,
        continuation: StreamStreamContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: RequestIterable[_TRequest],
    ) -> AsyncIterator[_TResponse] | grpc.aio.StreamStreamCall[_TRequest, _TResponse]:
        return await continuation(client_call_details, request_iterator)


class _UnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, interceptor: ClientInterceptorBase) -> None:
        self._interceptor = interceptor

    async def intercept_unary_unary(
        self,
        continuation: UnaryUnaryContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request: _TRequest,
    ) -> _TResponse | grpc.aio.UnaryUnaryCall[_TRequest, _TResponse]:
        return await self._interceptor.intercept_unary_unary(
            continuation, client_call_details, request
        )


class _UnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, interceptor: ClientInterceptorBase) -> None:
        self._interceptor = interceptor

    async def intercept_unary_stream(
        self,
        continuation: UnaryStreamContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request: _TRequest,
    ) -> AsyncIterator[_TResponse] | grpc.aio.UnaryStreamCall[_TRequest, _TResponse]:
        return await self._interceptor.intercept_unary_stream(
            continuation, client_call_details, request
        )


class _StreamUnary(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, interceptor: ClientInterceptorBase) -> None:
        self._interceptor = interceptor

    async def intercept_stream_unary(
        self,
        continuation: StreamUnaryContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: RequestIterable[_TRequest],
    ) -> grpc.aio.StreamUnaryCall[_TRequest, _TResponse]:
        return await self._interceptor.intercept_stream_unary(
            continuation, client_call_details, request_iterator
        )


class _StreamStream(grpc.aio.StreamStreamClientInterceptor):
    def __init__(self, interceptor: ClientInterceptorBase) -> None:
        self._interceptor = interceptor

    async def intercept_stream_stream(
        self,
        continuation: StreamStreamContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: RequestIterable[_TRequest],
    ) -> AsyncIterator[_TResponse] | grpc.aio.StreamStreamCall[_TRequest, _TResponse]:
        return await self._interceptor.intercept_stream_stream(
            continuation, client_call_details, request_iterator
        )


_ADAPTERS: tuple[Callable[[ClientInterceptorBase], grpc.aio.ClientInterceptor], ...] = (
    _UnaryUnary,
    _UnaryStream,
    _StreamUnary,
    _StreamStream,
)


def for_channel(*interceptors: ClientInterceptorBase) -> list[grpc.aio.ClientInterceptor]:
    """What to pass as a channel's `interceptors`, outermost first, for all four call kinds."""
    return [adapter(i) for adapter in _ADAPTERS for i in interceptors]
