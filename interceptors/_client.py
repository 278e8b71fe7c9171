"""Client interceptor plumbing: one object per concern for both call kinds, and a base for
interceptors that watch each call to its end (metrics, tracing)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, TypeAlias, TypeVar

import grpc

from interceptors._handlers import RpcInfo

_TRequest = TypeVar("_TRequest")
_TResponse = TypeVar("_TResponse")


class CallObserver(Protocol):
    """Told about one client call as it progresses."""

    def message_received(self) -> None: ...

    def finished(self, code: grpc.StatusCode) -> None: ...


UnaryUnaryContinuation: TypeAlias = Callable[
    [grpc.aio.ClientCallDetails, _TRequest],
    Awaitable["grpc.aio.UnaryUnaryCall[_TRequest, _TResponse]"],
]
UnaryStreamContinuation: TypeAlias = Callable[
    [grpc.aio.ClientCallDetails, _TRequest],
    Awaitable["grpc.aio.UnaryStreamCall[_TRequest, _TResponse]"],
]


class ClientInterceptorBase:
    """A client interceptor for unary-unary and unary-stream calls.

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


def for_channel(*interceptors: ClientInterceptorBase) -> list[grpc.aio.ClientInterceptor]:
    """What to pass as a channel's `interceptors`, outermost first, for both call kinds."""
    adapters: list[grpc.aio.ClientInterceptor] = [_UnaryUnary(i) for i in interceptors]
    adapters.extend(_UnaryStream(i) for i in interceptors)
    return adapters


class ObservingClientInterceptor(ClientInterceptorBase):
    """Calls `start` before each call and reports the responses and final code to the
    observer it returns. `start` may also return changed call details."""

    def start(
        self, info: RpcInfo, details: grpc.aio.ClientCallDetails
    ) -> tuple[grpc.aio.ClientCallDetails, CallObserver]:
        raise NotImplementedError

    async def intercept_unary_unary(
        self,
        continuation: UnaryUnaryContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request: _TRequest,
    ) -> _TResponse | grpc.aio.UnaryUnaryCall[_TRequest, _TResponse]:
        info = RpcInfo.parse(
            client_call_details.method, request_streaming=False, response_streaming=False
        )
        details, observer = self.start(info, client_call_details)
        try:
            call = await continuation(details, request)
            # Waits for the end of the call; the caller awaits it anyway.
            code = await call.code()
        except BaseException as exc:
            observer.finished(_code_of(exc))
            raise
        if code == grpc.StatusCode.OK:
            observer.message_received()
        observer.finished(code)
        return call

    async def intercept_unary_stream(
        self,
        continuation: UnaryStreamContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request: _TRequest,
    ) -> AsyncIterator[_TResponse] | grpc.aio.UnaryStreamCall[_TRequest, _TResponse]:
        info = RpcInfo.parse(
            client_call_details.method, request_streaming=False, response_streaming=True
        )
        details, observer = self.start(info, client_call_details)
        try:
            call = await continuation(details, request)
        except BaseException as exc:
            observer.finished(_code_of(exc))
            raise
        return _observed_stream(call, observer)


async def _observed_stream(
    call: grpc.aio.UnaryStreamCall[Any, _TResponse], observer: CallObserver
) -> AsyncIterator[_TResponse]:
    code = grpc.StatusCode.UNKNOWN
    try:
        async for response in call:
            observer.message_received()
            yield response
        code = await call.code()
    except BaseException as exc:
        code = _code_of(exc)
        if isinstance(exc, GeneratorExit):
            call.cancel()  # the caller stopped reading
        raise
    finally:
        observer.finished(code)


def _code_of(error: BaseException) -> grpc.StatusCode:
    if isinstance(error, grpc.aio.AioRpcError):
        return error.code()
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.UNKNOWN
