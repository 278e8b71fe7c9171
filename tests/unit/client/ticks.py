"""`trademesh.test.v1.Ticks`: a service with all four call kinds that records what each call
arrived with and how it ended, so tests can see deadlines, metadata and cancellations.

Requests and responses are `google.protobuf.StringValue`:
- Unary: "sleep:<seconds>" answers after that long, anything else at once; a server named in
  `Recorder.failing` answers with that failure instead (a status, and RetryInfo's delay).
- Ticks (server stream): "<count>:<interval seconds>" sends that many ticks, one per interval;
  "hang" sends one tick and then waits until the caller goes away.
- Collect (client stream): joins the requests; "wait:<seconds>" waits before reading on.
- Echo (bidi): answers each request in upper case; "<count>:<interval>" answers with ticks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import grpc
from google.protobuf import wrappers_pb2
from google.rpc import error_details_pb2, status_pb2

SERVICE = "trademesh.test.v1.Ticks"
StringValue = wrappers_pb2.StringValue
Context = grpc.aio.ServicerContext[Any, Any]

# name → (client streaming, server streaming)
KINDS: dict[str, tuple[bool, bool]] = {
    "Unary": (False, False),
    "Ticks": (False, True),
    "Collect": (True, False),
    "Echo": (True, True),
}
GRPC_TYPES = {
    "Unary": "unary",
    "Ticks": "server_stream",
    "Collect": "client_stream",
    "Echo": "bidi_stream",
}


@dataclass(frozen=True)
class Arrival:
    """What one call arrived with at the server."""

    method: str
    server: str
    metadata: dict[str, str]
    time_remaining: float | None


@dataclass
class Recorder:
    """Every call the servers saw, how many are still running and how each one ended."""

    arrivals: list[Arrival] = field(default_factory=list)
    active: int = 0
    # (method, "ok"|"cancelled"). grpc ends the request stream of a cancelled client or bidi
    # call as if the caller had finished sending, so only Unary and Ticks tell them apart.
    endings: list[tuple[str, str]] = field(default_factory=list)
    # server → (code, RetryInfo delay or None): Unary and Ticks calls on it fail so.
    failing: dict[str, tuple[grpc.StatusCode, float | None]] = field(default_factory=dict)

    def by_method(self, method: str) -> list[Arrival]:
        return [a for a in self.arrivals if a.method == method]

    def ended(self, method: str, outcome: str) -> int:
        return self.endings.count((method, outcome))


class _Call:
    def __init__(self, recorder: Recorder, server: str, method: str, context: Context) -> None:
        self._recorder = recorder
        self._method = method
        metadata = {
            key: value
            for key, value in context.invocation_metadata() or ()
            if isinstance(value, str)
        }
        recorder.arrivals.append(Arrival(method, server, metadata, context.time_remaining()))

    def __enter__(self) -> None:
        self._recorder.active += 1

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self._recorder.active -= 1
        cancelled = exc_type is not None and issubclass(exc_type, asyncio.CancelledError)
        self._recorder.endings.append((self._method, "cancelled" if cancelled else "ok"))


def _pace(value: str) -> tuple[int, float] | None:
    count, sep, interval = value.partition(":")
    if not sep or not count.isdigit():
        return None
    return int(count), float(interval)


async def _fail_if_failing(recorder: Recorder, server: str, context: Context) -> None:
    failure = recorder.failing.get(server)
    if failure is None:
        return
    code, delay = failure
    trailers: tuple[tuple[str, str | bytes], ...] = ()
    if delay is not None:
        info = error_details_pb2.RetryInfo()
        info.retry_delay.FromTimedelta(timedelta(seconds=delay))
        status = status_pb2.Status(code=code.value[0], message=f"{server} is failing")
        status.details.add().Pack(info)
        trailers = (("grpc-status-details-bin", status.SerializeToString()),)
    await context.abort(code, f"{server} is failing", trailing_metadata=trailers)


def handlers(recorder: Recorder, server: str) -> grpc.GenericRpcHandler:
    async def unary(request: StringValue, context: Context) -> StringValue:
        with _Call(recorder, server, "Unary", context):
            await _fail_if_failing(recorder, server, context)
            if request.value.startswith("sleep:"):
                await asyncio.sleep(float(request.value.removeprefix("sleep:")))
            return StringValue(value=server)

    async def ticks(request: StringValue, context: Context) -> AsyncIterator[StringValue]:
        with _Call(recorder, server, "Ticks", context):
            await _fail_if_failing(recorder, server, context)
            if request.value == "hang":
                yield StringValue(value="0")
                await asyncio.Event().wait()
            count, interval = _pace(request.value) or (1, 0.0)
            for index in range(count):
                if index:
                    await asyncio.sleep(interval)
                yield StringValue(value=str(index))

    async def collect(requests: AsyncIterator[StringValue], context: Context) -> StringValue:
        with _Call(recorder, server, "Collect", context):
            values: list[str] = []
            async for request in requests:
                if request.value.startswith("wait:"):
                    await asyncio.sleep(float(request.value.removeprefix("wait:")))
                values.append(request.value)
            return StringValue(value=",".join(values))

    async def echo(
        requests: AsyncIterator[StringValue], context: Context
    ) -> AsyncIterator[StringValue]:
        with _Call(recorder, server, "Echo", context):
            async for request in requests:
                pace = _pace(request.value)
                if pace is None:
                    yield StringValue(value=request.value.upper())
                    continue
                count, interval = pace
                for index in range(count):
                    if index:
                        await asyncio.sleep(interval)
                    yield StringValue(value=str(index))

    factories: dict[tuple[bool, bool], Callable[..., grpc.RpcMethodHandler[Any, Any]]] = {
        (False, False): grpc.unary_unary_rpc_method_handler,
        (False, True): grpc.unary_stream_rpc_method_handler,
        (True, False): grpc.stream_unary_rpc_method_handler,
        (True, True): grpc.stream_stream_rpc_method_handler,
    }
    behaviours: dict[str, Callable[..., Any]] = {
        "Unary": unary,
        "Ticks": ticks,
        "Collect": collect,
        "Echo": echo,
    }
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            name: factories[kind](
                behaviours[name],
                request_deserializer=StringValue.FromString,
                response_serializer=StringValue.SerializeToString,
            )
            for name, kind in KINDS.items()
        },
    )


class TicksClient:
    """The four methods as callables on a channel (a real one or a BalancedChannel)."""

    def __init__(self, channel: Any) -> None:
        def callable_for(name: str) -> Any:
            factory = {
                (False, False): channel.unary_unary,
                (False, True): channel.unary_stream,
                (True, False): channel.stream_unary,
                (True, True): channel.stream_stream,
            }[KINDS[name]]
            return factory(
                f"/{SERVICE}/{name}",
                request_serializer=StringValue.SerializeToString,
                response_deserializer=StringValue.FromString,
            )

        self.unary = callable_for("Unary")
        self.ticks = callable_for("Ticks")
        self.collect = callable_for("Collect")
        self.echo = callable_for("Echo")


async def values(*items: str) -> AsyncIterator[StringValue]:
    for item in items:
        yield StringValue(value=item)


def relay_handlers(upstream: TicksClient) -> grpc.GenericRpcHandler:
    """Ticks served by calling another Ticks through `upstream`, stream for stream: a service
    whose handlers are mesh client calls."""

    async def unary(request: StringValue, context: Context) -> StringValue:
        response: StringValue = await upstream.unary(request)
        return response

    async def ticks(request: StringValue, context: Context) -> AsyncIterator[StringValue]:
        async for response in upstream.ticks(request):
            yield response

    async def collect(requests: AsyncIterator[StringValue], context: Context) -> StringValue:
        response: StringValue = await upstream.collect(requests)
        return response

    async def echo(
        requests: AsyncIterator[StringValue], context: Context
    ) -> AsyncIterator[StringValue]:
        async for response in upstream.echo(requests):
            yield response

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Unary": grpc.unary_unary_rpc_method_handler(
                unary, StringValue.FromString, StringValue.SerializeToString
            ),
            "Ticks": grpc.unary_stream_rpc_method_handler(
                ticks, StringValue.FromString, StringValue.SerializeToString
            ),
            "Collect": grpc.stream_unary_rpc_method_handler(
                collect, StringValue.FromString, StringValue.SerializeToString
            ),
            "Echo": grpc.stream_stream_rpc_method_handler(
                echo, StringValue.FromString, StringValue.SerializeToString
            ),
        },
    )
