"""A base for client interceptors that watch every call of any kind to its end, however it ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable
from typing import Any, Protocol, TypeVar

import grpc

from mesh.client.interceptors._base import (
    ClientInterceptorBase,
    RequestIterable,
    StreamStreamContinuation,
    StreamUnaryContinuation,
    UnaryStreamContinuation,
    UnaryUnaryContinuation,
)
from mesh.rpc import RpcInfo

_TRequest = TypeVar("_TRequest")
_TResponse = TypeVar("_TResponse")
_TCall = TypeVar("_TCall")

# Tasks reading the final code of calls that ended; held here so they are not collected.
_reading: set[asyncio.Task[None]] = set()


class CallObserver(Protocol):
    """Told about one client call as it progresses."""

    def sent(self) -> None: ...

    def received(self) -> None: ...

    def finished(self, code: grpc.StatusCode) -> None: ...


class _Observation:
    """Relays one call's events to its observer, which hears `finished` exactly once."""

    def __init__(self, observer: CallObserver) -> None:
        self._observer = observer
        self._finished = False

    def sent(self) -> None:
        self._observer.sent()

    def received(self) -> None:
        if not self._finished:
            self._observer.received()

    def finish(self, code: grpc.StatusCode) -> None:
        if not self._finished:
            self._finished = True
            self._observer.finished(code)

    def finish_when_done(self, call: grpc.aio.Call, *, unary_response: bool) -> None:
        """Finish with the call's code once it ends, even if nobody reads or awaits it."""

        def done(_: Any) -> None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # collected after its loop closed: grpc cancelled it
                self.finish(grpc.StatusCode.CANCELLED)
                return
            task = loop.create_task(self._read_code(call, unary_response))
            _reading.add(task)
            task.add_done_callback(_reading.discard)

        call.add_done_callback(done)

    async def _read_code(self, call: grpc.aio.Call, unary_response: bool) -> None:
        try:
            code = await call.code()
        except asyncio.CancelledError:
            self.finish(grpc.StatusCode.CANCELLED)
            raise
        except Exception as exc:
            self.finish(code_of(exc))
            return
        if unary_response and code == grpc.StatusCode.OK:
            self.received()
        self.finish(code)

    async def started(self, call: Awaitable[_TCall]) -> _TCall:
        """The call the rest of the chain made; a failure to make it finishes the call."""
        try:
            return await call
        except BaseException as exc:
            self.finish(code_of(exc))
            raise


class ObservingClientInterceptor(ClientInterceptorBase):
    """Calls `start` before each call and reports the messages and final code to the
    observer it returns. `start` may also return changed call details."""

    def start(
        self, info: RpcInfo, details: grpc.aio.ClientCallDetails
    ) -> tuple[grpc.aio.ClientCallDetails, CallObserver]:
        raise NotImplementedError

    def _begin(
        self, details: grpc.aio.ClientCallDetails, *, request_streaming: bool, streaming: bool
    ) -> tuple[grpc.aio.ClientCallDetails, _Observation]:
        info = RpcInfo.parse(
            details.method, request_streaming=request_streaming, response_streaming=streaming
        )
        details, observer = self.start(info, details)
        return details, _Observation(observer)

    async def intercept_unary_unary(
        self,
        continuation: UnaryUnaryContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request: _TRequest,
    ) -> _TResponse | grpc.aio.UnaryUnaryCall[_TRequest, _TResponse]:
        details, observation = self._begin(
            client_call_details, request_streaming=False, streaming=False
        )
        observation.sent()
        call = await observation.started(continuation(details, request))
        try:
            # Waits for the end of the call; the caller awaits it anyway.
            code = await call.code()
        except BaseException:
            call.cancel()  # the caller gave up
            observation.finish(grpc.StatusCode.CANCELLED)
            raise
        if code == grpc.StatusCode.OK:
            observation.received()
        observation.finish(code)
        return call

    async def intercept_unary_stream(
        self,
        continuation: UnaryStreamContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request: _TRequest,
    ) -> AsyncIterator[_TResponse] | grpc.aio.UnaryStreamCall[_TRequest, _TResponse]:
        details, observation = self._begin(
            client_call_details, request_streaming=False, streaming=True
        )
        observation.sent()
        call = await observation.started(continuation(details, request))
        observation.finish_when_done(call, unary_response=False)
        return _observed_responses(call, observation)

    async def intercept_stream_unary(
        self,
        continuation: StreamUnaryContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: RequestIterable[_TRequest],
    ) -> grpc.aio.StreamUnaryCall[_TRequest, _TResponse]:
        # Returns at once: a caller writing with call.write() waits for the chain first.
        details, observation = self._begin(
            client_call_details, request_streaming=True, streaming=False
        )
        requests = _counted_requests(request_iterator, observation)
        call = await observation.started(continuation(details, requests))
        observation.finish_when_done(call, unary_response=True)
        return call

    async def intercept_stream_stream(
        self,
        continuation: StreamStreamContinuation[_TRequest, _TResponse],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: RequestIterable[_TRequest],
    ) -> AsyncIterator[_TResponse] | grpc.aio.StreamStreamCall[_TRequest, _TResponse]:
        details, observation = self._begin(
            client_call_details, request_streaming=True, streaming=True
        )
        requests = _counted_requests(request_iterator, observation)
        call = await observation.started(continuation(details, requests))
        observation.finish_when_done(call, unary_response=False)
        return _observed_responses(call, observation)


async def _counted_requests(
    requests: RequestIterable[_TRequest], observation: _Observation
) -> AsyncIterator[_TRequest]:
    if isinstance(requests, AsyncIterable):
        async for request in requests:
            observation.sent()
            yield request
    else:
        for request in requests:
            observation.sent()
            yield request


async def _observed_responses(
    call: grpc.aio.UnaryStreamCall[Any, _TResponse] | grpc.aio.StreamStreamCall[Any, _TResponse],
    observation: _Observation,
) -> AsyncIterator[_TResponse]:
    code = grpc.StatusCode.UNKNOWN
    try:
        async for response in call:
            observation.received()
            yield response
        code = await call.code()
    except BaseException as exc:
        code = code_of(exc)
        if isinstance(exc, GeneratorExit):
            call.cancel()  # the caller stopped reading
        raise
    finally:
        observation.finish(code)


def code_of(error: BaseException) -> grpc.StatusCode:
    """The code a call ends with when making or reading it raised `error`."""
    if isinstance(error, grpc.aio.AioRpcError):
        return error.code()
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.UNKNOWN
