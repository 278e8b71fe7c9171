"""Ending a draining server's open streams with a status callers reopen elsewhere on.

`DrainInterceptor` sits outermost in the chain and notes the task of every response-streaming
call (server streams and bidi) once, when it starts; nothing is added per message. At drain,
`end_streams()` sets each call's status to the draining one (`mesh.errors.draining`) and
cancels its task; the wrapper turns that cancellation into a normal return, so grpc sends the
status that was set instead of CANCELLED. Streams opened afterwards are answered the same way
at once. Unary and client-streaming calls are never touched: they finish within the grace.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeAlias, TypeVar

import grpc

from mesh.errors.draining import DRAINING_CODE, STATUS_DETAILS_KEY, draining_status

_TRequest = TypeVar("_TRequest")
_TResponse = TypeVar("_TResponse")

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
StreamBehavior: TypeAlias = Callable[[Any, Context], Awaitable[None]]

_STREAM_HANDLERS: dict[bool, Callable[..., Any]] = {
    False: grpc.unary_stream_rpc_method_handler,
    True: grpc.stream_stream_rpc_method_handler,
}


class DrainInterceptor(grpc.aio.ServerInterceptor):
    """Tracks the open response-streaming calls of one server and ends them on drain."""

    def __init__(self, service: str) -> None:
        self.service = service
        status = draining_status(service)
        self._message = status.message
        self._trailers = ((STATUS_DETAILS_KEY, status.SerializeToString()),)
        self._open: dict[asyncio.Task[Any], Context] = {}
        self._ending: set[asyncio.Task[Any]] = set()
        self._all_ended = asyncio.Event()
        self._draining = False

    @property
    def open_streams(self) -> int:
        """Response-streaming calls whose handler is still running."""
        return len(self._open)

    @property
    def draining(self) -> bool:
        return self._draining

    async def end_streams(self, timeout_seconds: float = 5.0) -> int:
        """End every open stream with the draining status, refuse streams opened from now
        on, and wait (at most `timeout_seconds`) for the ended handlers to unwind. Returns
        how many streams were ended."""
        self._draining = True
        ending = [task for task in self._open if task not in self._ending]
        for task in ending:
            self._set_draining_status(self._open[task])
            self._ending.add(task)
            task.cancel()
        if self._ending:
            self._all_ended.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_seconds):
                    await self._all_ended.wait()
        return len(ending)

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails],
            Awaitable[grpc.RpcMethodHandler[_TRequest, _TResponse] | None],
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_TRequest, _TResponse] | None:
        handler = await continuation(handler_call_details)
        if handler is None or not handler.response_streaming:
            return handler
        streaming_requests = bool(handler.request_streaming)
        behavior = _as_writer(handler.stream_stream if streaming_requests else handler.unary_stream)
        wrapped: grpc.RpcMethodHandler[_TRequest, _TResponse] = _STREAM_HANDLERS[
            streaming_requests
        ](
            self._tracked(behavior),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        return wrapped

    def _tracked(self, behavior: StreamBehavior) -> StreamBehavior:
        async def run(request: Any, context: Context) -> None:
            if self._draining:
                self._set_draining_status(context)
                return
            task = asyncio.current_task()
            assert task is not None, "grpc runs every call in a task"
            self._open[task] = context
            try:
                await behavior(request, context)
            except asyncio.CancelledError:
                if task not in self._ending:
                    raise  # the caller went away, or the server is stopping
                # Our own cancellation: returning lets grpc send the status set at drain.
                task.uncancel()
                self._set_draining_status(context)
            finally:
                del self._open[task]
                if task in self._ending:
                    self._ending.discard(task)
                    if not self._ending:
                        self._all_ended.set()

        return run

    def _set_draining_status(self, context: Context) -> None:
        context.set_code(DRAINING_CODE)
        context.set_details(self._message)
        context.set_trailing_metadata(self._trailers)


def _as_writer(behavior: Callable[..., Any] | None) -> StreamBehavior:
    """Any aio response-streaming behavior as one coroutine that writes through the context,
    so a cancellation always lands inside the tracked wrapper, never in grpc's own loop."""
    assert behavior is not None, "a response-streaming handler has a behavior"
    if inspect.iscoroutinefunction(behavior):
        return behavior  # already writes through context.write(): nothing added per message

    async def write_all(request: Any, context: Context) -> None:
        result = behavior(request, context)
        if inspect.isawaitable(result):
            await result
        elif hasattr(result, "aclose"):
            async with aclosing(result) as responses:
                async for response in responses:
                    await context.write(response)
        elif hasattr(result, "__aiter__"):
            async for response in result:
                await context.write(response)
        elif result is not None:
            for response in result:
                await context.write(response)

    return write_all
