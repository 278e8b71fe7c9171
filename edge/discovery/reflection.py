"""Read a running service's contracts from its gRPC server reflection, into a private pool.

One bidirectional `ServerReflectionInfo` exchange per fetch: list the services, ask for the
file that defines each, then for every import the server has not sent yet. `grpc.reflection.v1`
is asked first and `v1alpha` when the server does not know it; both carry the same messages on
the wire, so the v1alpha classes serve for both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor
from grpc_reflection.v1alpha import reflection_pb2 as rpb

from edge.discovery.pool import FileProto, PoolError, build_pool, digest, find_services

V1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
V1ALPHA = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"

# Infrastructure every server runs; they are not contracts the edge offers.
_INFRASTRUCTURE = ("grpc.health.", "grpc.reflection.")

_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


class ReflectionError(RuntimeError):
    """The service's reflection could not be read or made no sense."""


class Channel(Protocol):
    """What a fetch needs of a channel: a `grpc.aio.Channel` or the mesh's balanced one."""

    def stream_stream(self, method: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True, eq=False)
class Reflection:
    """What one service reported: its files, a private pool built from them, and the
    services it offers (infrastructure left out), from that pool."""

    files: tuple[FileProto, ...]
    pool: descriptor_pool.DescriptorPool
    services: tuple[ServiceDescriptor, ...]
    digest: str  # the same for the same files, whatever order they came in

    @classmethod
    def of(cls, files: Iterable[FileProto], service_names: Iterable[str]) -> Reflection:
        files = tuple(files)
        pool = build_pool(files)
        names = sorted({n for n in service_names if not n.startswith(_INFRASTRUCTURE)})
        return cls(files, pool, tuple(find_services(pool, names)), digest(files))


class _Exchange:
    """One open reflection stream: a request queued, its answer read, in turn.

    Requests go in through an iterator fed from a queue rather than `call.write()`: with
    client interceptors on the channel, a write can race the server ending the call (an
    UNIMPLEMENTED version) and fail without its status; reading the answers always ends
    with the call's real status."""

    def __init__(self, requests: asyncio.Queue[Any], responses: AsyncIterator[Any]) -> None:
        self._requests = requests
        self._responses = responses

    async def ask(self, request: rpb.ServerReflectionRequest) -> rpb.ServerReflectionResponse:
        await self._requests.put(request)
        try:
            response = await anext(self._responses)
        except StopAsyncIteration:
            raise ReflectionError("the server ended the reflection stream early") from None
        if not isinstance(response, rpb.ServerReflectionResponse):
            raise ReflectionError(f"unexpected answer {type(response).__name__}")
        return response

    async def files(self, request: rpb.ServerReflectionRequest, what: str) -> list[FileProto]:
        response = await self.ask(request)
        if response.HasField("error_response"):
            error = response.error_response
            code = _CODE_NAMES.get(error.error_code, str(error.error_code))
            raise ReflectionError(f"{what}: {code} {error.error_message}")
        found = []
        for raw in response.file_descriptor_response.file_descriptor_proto:
            proto = FileProto()
            proto.ParseFromString(raw)
            found.append(proto)
        return found


async def _collect(exchange: _Exchange) -> Reflection:
    listed = await exchange.ask(rpb.ServerReflectionRequest(list_services="*"))
    if not listed.HasField("list_services_response"):
        raise ReflectionError("the server answered list_services with no list")
    names = [s.name for s in listed.list_services_response.service]
    offered = [n for n in names if not n.startswith(_INFRASTRUCTURE)]
    files: dict[str, FileProto] = {}

    def keep(found: list[FileProto]) -> None:
        for proto in found:
            files.setdefault(proto.name, proto)

    for name in offered:
        if any(name in _symbols(proto) for proto in files.values()):
            continue
        request = rpb.ServerReflectionRequest(file_containing_symbol=name)
        keep(await exchange.files(request, f"the file defining {name}"))
    asked: set[str] = set()
    while missing := sorted(
        d for proto in files.values() for d in proto.dependency if d not in files and d not in asked
    ):
        for filename in missing:
            asked.add(filename)
            request = rpb.ServerReflectionRequest(file_by_filename=filename)
            try:
                keep(await exchange.files(request, filename))
            except ReflectionError:
                # Left to the pool, which takes files it shares with us (well-known types,
                # google/api, our options) from our own default pool, or names what is missing.
                continue
    try:
        return Reflection.of(files.values(), offered)
    except PoolError as exc:
        raise ReflectionError(str(exc)) from exc


def _symbols(proto: FileProto) -> set[str]:
    prefix = f"{proto.package}." if proto.package else ""
    return {prefix + s.name for s in proto.service}


async def _requests_from(queue: asyncio.Queue[Any]) -> AsyncIterator[Any]:
    while (request := await queue.get()) is not None:
        yield request


async def _fetch_with(channel: Channel, method: str, timeout_seconds: float) -> Reflection:
    requests: asyncio.Queue[Any] = asyncio.Queue()
    call = channel.stream_stream(
        method,
        request_serializer=rpb.ServerReflectionRequest.SerializeToString,
        response_deserializer=rpb.ServerReflectionResponse.FromString,
    )(_requests_from(requests), timeout=timeout_seconds)
    try:
        return await _collect(_Exchange(requests, call.__aiter__()))
    finally:
        requests.put_nowait(None)  # ends the request stream (half-close)
        call.cancel()


async def fetch(
    channel: Channel, *, timeout_seconds: float, methods: tuple[str, ...] = (V1, V1ALPHA)
) -> Reflection:
    """Read the contracts of the server behind `channel`, trying each reflection version in
    turn while the server answers UNIMPLEMENTED. Raises ReflectionError (or the call's
    AioRpcError) when it cannot; the whole exchange ends within `timeout_seconds`."""
    async with asyncio.timeout(timeout_seconds):
        for index, method in enumerate(methods):
            try:
                return await _fetch_with(channel, method, timeout_seconds)
            except grpc.aio.AioRpcError as exc:
                last = index == len(methods) - 1
                if exc.code() != grpc.StatusCode.UNIMPLEMENTED or last:
                    raise
    raise ReflectionError("no reflection method to try")
