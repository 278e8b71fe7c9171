"""Wrapping a grpc.aio method handler of any of the four RPC kinds, and reading its outcome."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeAlias, TypeVar, cast

import grpc

from mesh.rpc import RpcInfo as RpcInfo
from mesh.tls import peer_service_name
from mesh.tls.peer import HasAuthContext

_TRequest = TypeVar("_TRequest")
_TResponse = TypeVar("_TResponse")

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"

# What a wrapped handler calls to run the rest of the chain. `request` is the request message,
# or an async iterator of them when the RPC streams requests.
UnaryNext: TypeAlias = Callable[[Any, Context], Awaitable[Any]]
StreamNext: TypeAlias = Callable[[Any, Context], AsyncGenerator[Any, None]]

_HANDLER_FACTORIES: dict[tuple[bool, bool], Callable[..., Any]] = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


class ServerInterceptorBase(grpc.aio.ServerInterceptor):
    """A server interceptor written as two hooks, one per response shape.

    `intercept_unary_response` runs around unary and client-streaming RPCs,
    `intercept_stream_response` (an async generator) around server-streaming and bidi ones.
    Both default to passing the call through unchanged.
    """

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails],
            Awaitable[grpc.RpcMethodHandler[_TRequest, _TResponse] | None],
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_TRequest, _TResponse] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None  # unknown method: grpc answers UNIMPLEMENTED
        info = RpcInfo.parse(
            handler_call_details.method,
            request_streaming=bool(handler.request_streaming),
            response_streaming=bool(handler.response_streaming),
        )
        wrapped: grpc.RpcMethodHandler[_TRequest, _TResponse] = _wrap(self, handler, info)
        return wrapped

    async def intercept_unary_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: UnaryNext
    ) -> Any:
        return await proceed(request, context)

    async def intercept_stream_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: StreamNext
    ) -> AsyncIterator[Any]:
        async with aclosing(proceed(request, context)) as responses:
            async for response in responses:
                yield response


class ResponseStreamWriter(grpc.aio.ServerInterceptor):
    """Outermost in every chain: runs a response-streaming chain as one coroutine that writes
    each message through the context and closes the chain in its own `finally`.

    Handed an async generator, grpc drops it unclosed when the caller goes away; its
    `finally` blocks (every interceptor's) then run later from the garbage collector, outside
    the call's context and after grpc released the call, where touching the call crashes the
    process. Driven from here they run inside the call's task, while the call still exists.
    """

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
        stream_next = _as_stream(handler.stream_stream or handler.unary_stream)

        async def write_all(request: Any, context: Context) -> None:
            async with aclosing(stream_next(request, context)) as responses:
                async for response in responses:
                    await context.write(response)

        factory = _HANDLER_FACTORIES[(bool(handler.request_streaming), True)]
        wrapped: grpc.RpcMethodHandler[_TRequest, _TResponse] = factory(
            write_all,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        return wrapped


def _wrap(interceptor: ServerInterceptorBase, handler: Handler, info: RpcInfo) -> Any:
    behavior: Callable[..., Any]
    if info.response_streaming:
        stream_next = _as_stream(handler.stream_stream or handler.unary_stream)

        async def stream_behavior(request: Any, context: Context) -> AsyncIterator[Any]:
            # Whoever iterates a stream closes it, at every layer, so no generator of the
            # chain is left for the garbage collector to finish outside the call.
            chain = interceptor.intercept_stream_response(info, request, context, stream_next)
            async with aclosing(cast(AsyncGenerator[Any, None], chain)) as responses:
                async for response in responses:
                    yield response

        behavior = stream_behavior
    else:
        unary_next = _as_unary(handler.stream_unary or handler.unary_unary)

        async def unary_behavior(request: Any, context: Context) -> Any:
            return await interceptor.intercept_unary_response(info, request, context, unary_next)

        behavior = unary_behavior
    factory = _HANDLER_FACTORIES[(info.request_streaming, info.response_streaming)]
    return factory(
        behavior,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _as_unary(behavior: Callable[..., Any] | None) -> UnaryNext:
    assert behavior is not None, "a unary-response handler has a behavior"
    if inspect.iscoroutinefunction(behavior):
        return behavior

    async def call(request: Any, context: Context) -> Any:
        result = behavior(request, context)
        if inspect.isawaitable(result):
            result = await result
        return result

    return call


def _as_stream(behavior: Callable[..., Any] | None) -> StreamNext:
    """Any aio streaming handler as an async generator.

    aio handlers may be async generators, coroutines writing through `context.write()` (their
    messages bypass the wrapper), or plain generators.
    """
    assert behavior is not None, "a streaming-response handler has a behavior"
    if inspect.isasyncgenfunction(behavior):
        return behavior

    async def stream(request: Any, context: Context) -> AsyncGenerator[Any, None]:
        result = behavior(request, context)
        if inspect.isawaitable(result):
            await result
        elif hasattr(result, "aclose"):
            async with aclosing(result) as responses:
                async for response in responses:
                    yield response
        elif hasattr(result, "__aiter__"):
            async for response in result:
                yield response
        elif result is not None:
            for response in result:
                yield response

    return stream


def final_code(context: Context, error: BaseException | None) -> grpc.StatusCode:
    """The status the call ends with, given how the inner handler finished."""
    # Set by abort() or set_code(); an abort sends the status before the handler task
    # unwinds, so a cancellation arriving meanwhile does not change what the caller got.
    code: object = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            return grpc.StatusCode.DEADLINE_EXCEEDED
        return grpc.StatusCode.CANCELLED
    # An exception that set no status is answered UNKNOWN by grpc itself.
    return grpc.StatusCode.OK if error is None else grpc.StatusCode.UNKNOWN


def peer_service(context: Context) -> str | None:
    """The calling service named by the mTLS peer certificate, if any."""
    # grpc's stubs type auth_context() values as Iterable, mesh.tls asks for Sequence;
    # grpc hands over lists.
    return peer_service_name(cast(HasAuthContext, context))


def metadata_values(metadata: Any, key: str) -> list[str]:
    """All text values of `key` in invocation metadata (keys arrive lower case)."""
    values: list[str] = []
    for item_key, value in metadata or ():
        if item_key == key:
            values.append(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)
    return values
