"""`trademesh.test.v1.Probe`: a contract added to the default descriptor pool for the tests.

It has all four RPC kinds and access options the real contracts do not use (no option at
all, an empty one), so the interceptors read them through exactly the path they read the
real ones. Requests and responses are `google.protobuf.StringValue`; the unary handler's
behaviour is chosen by the request's value.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, wrappers_pb2
from trademesh.options.v1 import options_pb2

from mesh import context as call_context
from mesh.errors import FieldViolation, InvalidArgument, NotFound, ResourceExhausted

SERVICE = "trademesh.test.v1.Probe"
StringValue = wrappers_pb2.StringValue

# name → (client streaming, server streaming, access option or None)
_METHODS: dict[str, tuple[bool, bool, dict[str, Any] | None]] = {
    "Unary": (False, False, {"public": True}),
    "ServerStream": (False, True, {"public": True}),
    "ClientStream": (True, False, {"public": True}),
    "Bidi": (True, True, {"public": True}),
    "Unguarded": (False, False, None),
    "Members": (False, False, {}),
}


def method(name: str) -> str:
    return f"/{SERVICE}/{name}"


@functools.cache
def register() -> None:
    """Add the Probe contract to the default pool (once per process)."""
    file = descriptor_pb2.FileDescriptorProto(
        name="trademesh/test/v1/probe.proto",
        package="trademesh.test.v1",
        syntax="proto3",
        dependency=["google/protobuf/wrappers.proto", "trademesh/options/v1/options.proto"],
    )
    service = file.service.add(name="Probe")
    for name, (client_streaming, server_streaming, access) in _METHODS.items():
        rpc = service.method.add(
            name=name,
            input_type=".google.protobuf.StringValue",
            output_type=".google.protobuf.StringValue",
            client_streaming=client_streaming,
            server_streaming=server_streaming,
        )
        if access is not None:
            option = rpc.options.Extensions[options_pb2.access]
            option.SetInParent()
            for key, value in access.items():
                setattr(option, key, value)
    descriptor_pool.Default().AddSerializedFile(file.SerializeToString())


async def _unary(request: StringValue, context: grpc.aio.ServicerContext[Any, Any]) -> StringValue:
    match request.value:
        case "not_found":
            raise NotFound("order not found", metadata={"order_id": "o-1"})
        case "invalid":
            raise InvalidArgument(
                "quantity is not valid",
                [FieldViolation("quantity", "must be positive")],
                reason="BAD_QUANTITY",
            )
        case "exhausted":
            raise ResourceExhausted("too many orders", retry_after_seconds=1.5)
        case "abort":
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "market is closed")
        case "boom":
            raise ValueError("secret internal detail")
        case "upstream_unavailable":
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE,
                grpc.aio.Metadata(),
                grpc.aio.Metadata(),
                details="portfolio is down",
            )
        case "upstream_not_found":
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.NOT_FOUND,
                grpc.aio.Metadata(),
                grpc.aio.Metadata(),
                details="secret upstream detail",
            )
    ctx = call_context.current()
    principal = ctx.principal.user_id if ctx.principal is not None else ""
    return StringValue(value=f"{ctx.correlation_id}|{principal}|{ctx.caller_service or ''}")


async def _server_stream(
    request: StringValue, context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[StringValue]:
    count, _, then = request.value.partition(":")
    for index in range(int(count or "0")):
        yield StringValue(value=str(index))
    if then == "not_found":
        raise NotFound("the stream ran dry")
    if then == "boom":
        raise RuntimeError("secret stream detail")
    if then == "hang":
        await asyncio.Event().wait()  # until the caller cancels


async def _client_stream(
    requests: AsyncIterator[StringValue], context: grpc.aio.ServicerContext[Any, Any]
) -> StringValue:
    values = [request.value async for request in requests]
    return StringValue(value=",".join(values))


async def _bidi(
    requests: AsyncIterator[StringValue], context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[StringValue]:
    async for request in requests:
        yield StringValue(value=request.value.upper())


def handlers() -> grpc.GenericRpcHandler:
    register()
    kinds = {
        "Unary": grpc.unary_unary_rpc_method_handler,
        "ServerStream": grpc.unary_stream_rpc_method_handler,
        "ClientStream": grpc.stream_unary_rpc_method_handler,
        "Bidi": grpc.stream_stream_rpc_method_handler,
        "Unguarded": grpc.unary_unary_rpc_method_handler,
        "Members": grpc.unary_unary_rpc_method_handler,
    }
    behaviours = {
        "Unary": _unary,
        "ServerStream": _server_stream,
        "ClientStream": _client_stream,
        "Bidi": _bidi,
        "Unguarded": _unary,
        "Members": _unary,
    }
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            name: kinds[name](
                behaviours[name],
                request_deserializer=StringValue.FromString,
                response_serializer=StringValue.SerializeToString,
            )
            for name in _METHODS
        },
    )


class ProbeClient:
    """Typed callables for the Probe methods on a channel."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        def callable_for(name: str) -> Any:
            client_streaming, server_streaming, _ = _METHODS[name]
            factory = {
                (False, False): channel.unary_unary,
                (False, True): channel.unary_stream,
                (True, False): channel.stream_unary,
                (True, True): channel.stream_stream,
            }[(client_streaming, server_streaming)]
            return factory(
                method(name),
                request_serializer=StringValue.SerializeToString,
                response_deserializer=StringValue.FromString,
            )

        self.unary = callable_for("Unary")
        self.server_stream = callable_for("ServerStream")
        self.client_stream = callable_for("ClientStream")
        self.bidi = callable_for("Bidi")
        self.unguarded = callable_for("Unguarded")
        self.members = callable_for("Members")
