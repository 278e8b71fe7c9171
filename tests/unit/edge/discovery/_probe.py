"""A service that exists only in these tests: its contract built as a FileDescriptorProto at
run time (package trademesh.probe.v1, annotated like ours), served from a private pool by a
generic handler, with server reflection over that pool in either or both versions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import grpc
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_reflection.v1alpha import reflection, reflection_pb2
from trademesh.options.v1 import options_pb2

PACKAGE = "trademesh.probe.v1"
SERVICE = f"{PACKAGE}.ProbeService"
FILENAME = "trademesh/probe/v1/probe.proto"
GET_PROBE = "GetProbe"
LIST_PROBES = "ListProbes"
V1 = "grpc.reflection.v1.ServerReflection"
V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"

_STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
_OPTIONAL = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL


def probe_file(*methods: str, package: str = PACKAGE) -> descriptor_pb2.FileDescriptorProto:
    """The probe's contract with `methods` (GET_PROBE, LIST_PROBES): GetProbe is
    `GET /api/v1/probe/{name}`, public; ListProbes is `GET /api/v1/probes` for traders."""
    f = descriptor_pb2.FileDescriptorProto(
        name=package.replace(".", "/") + "/probe.proto", package=package, syntax="proto3"
    )
    f.dependency.extend(["google/api/annotations.proto", "trademesh/options/v1/options.proto"])
    request = f.message_type.add(name="ProbeRequest")
    request.field.add(name="name", json_name="name", number=1, type=_STRING, label=_OPTIONAL)
    response = f.message_type.add(name="ProbeResponse")
    response.field.add(name="echo", json_name="echo", number=1, type=_STRING, label=_OPTIONAL)
    service = f.service.add(name="ProbeService")
    for name in methods:
        method = service.method.add(
            name=name,
            input_type=f".{package}.ProbeRequest",
            output_type=f".{package}.ProbeResponse",
        )
        options = method.options
        if name == GET_PROBE:
            options.Extensions[annotations_pb2.http].get = "/api/v1/probe/{name}"
            options.Extensions[options_pb2.access].public = True
        else:
            options.Extensions[annotations_pb2.http].get = "/api/v1/probes"
            options.Extensions[options_pb2.access].roles.append("trader")
            options.Extensions[options_pb2.http_success_code] = 202
    return f


def with_dependencies(
    files: Iterable[descriptor_pb2.FileDescriptorProto],
) -> list[descriptor_pb2.FileDescriptorProto]:
    """`files` after every file they import, taken from the default pool (as a server built
    from generated code would hold them)."""
    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    seen: set[str] = set()

    def add(proto: descriptor_pb2.FileDescriptorProto) -> None:
        for name in proto.dependency:
            if name not in seen:
                dep = descriptor_pb2.FileDescriptorProto()
                descriptor_pool.Default().FindFileByName(name).CopyToProto(dep)
                add(dep)
        if proto.name not in seen:
            seen.add(proto.name)
            ordered.append(proto)

    for proto in files:
        add(proto)
    return ordered


def private_pool(*files: descriptor_pb2.FileDescriptorProto) -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    for proto in with_dependencies(files):
        pool.Add(proto)
    return pool


def probe_handler(pool: descriptor_pool.DescriptorPool, label: str) -> grpc.GenericRpcHandler:
    """Every method of the probe service answers `<label>:<method>:<name>`."""
    service = pool.FindServiceByName(SERVICE)
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for method in service.methods:
        handlers[method.name] = _echo(method, label)
    return grpc.method_handlers_generic_handler(SERVICE, handlers)


def _echo(method: Any, label: str) -> grpc.RpcMethodHandler:
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        return response_class(echo=f"{label}:{method.name}:{request.name}")

    return grpc.unary_unary_rpc_method_handler(
        unary,
        request_deserializer=request_class.FromString,
        response_serializer=response_class.SerializeToString,
    )


def reflection_handler(servicer: Any, service: str = V1) -> grpc.GenericRpcHandler:
    """A reflection servicer under `service` (v1 or v1alpha: the messages are the same)."""
    return grpc.method_handlers_generic_handler(
        service,
        {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo,
                request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
            )
        },
    )


def install_probe(
    server: grpc.aio.Server,
    pool: descriptor_pool.DescriptorPool,
    label: str,
    versions: Sequence[str] = (V1,),
) -> None:
    """The probe service and reflection over `pool` (listing the probe and reflection)."""
    servicer = reflection.aio.ReflectionServicer([SERVICE, *versions], pool=pool)
    server.add_generic_rpc_handlers(
        (probe_handler(pool, label), *(reflection_handler(servicer, v) for v in versions))
    )


class StingyReflection:
    """Answers each request with the one file asked for, never its imports, and NOT_FOUND
    for the files in `withheld` — as some servers do."""

    def __init__(self, pool: descriptor_pool.DescriptorPool, withheld: Iterable[str] = ()) -> None:
        self.pool = pool
        self.withheld = set(withheld)
        self.asked: list[str] = []

    def _file(self, request: Any, name: str) -> Any:
        self.asked.append(name)
        if name in self.withheld:
            return reflection_pb2.ServerReflectionResponse(
                error_response=reflection_pb2.ErrorResponse(error_code=5, error_message="no"),
                original_request=request,
            )
        proto = descriptor_pb2.FileDescriptorProto()
        self.pool.FindFileByName(name).CopyToProto(proto)
        return reflection_pb2.ServerReflectionResponse(
            file_descriptor_response=reflection_pb2.FileDescriptorResponse(
                file_descriptor_proto=[proto.SerializeToString()]
            ),
            original_request=request,
        )

    async def ServerReflectionInfo(
        self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        async for request in requests:
            if request.HasField("list_services"):
                names = [SERVICE, "grpc.health.v1.Health"]
                yield reflection_pb2.ServerReflectionResponse(
                    list_services_response=reflection_pb2.ListServiceResponse(
                        service=[reflection_pb2.ServiceResponse(name=n) for n in names]
                    )
                )
            elif request.HasField("file_containing_symbol"):
                name = self.pool.FindFileContainingSymbol(request.file_containing_symbol).name
                yield self._file(request, name)
            else:
                yield self._file(request, request.file_by_filename)


class SilentReflection:
    """Reads requests and never answers; `ended` is set when its handler ends, which only
    the caller going away (cancelling the call) can bring about."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.ended = asyncio.Event()

    async def ServerReflectionInfo(
        self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        self.started.set()
        try:
            async for _ in requests:
                await asyncio.sleep(3600)
        finally:
            self.ended.set()
        if False:  # an async generator that yields nothing
            yield None


@contextlib.asynccontextmanager
async def serving(*handlers: grpc.GenericRpcHandler) -> AsyncIterator[str]:
    """A plaintext grpc.aio server on a free loopback port with `handlers`; yields its
    address."""
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(handlers)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)
