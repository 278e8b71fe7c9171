"""Deadlines through the mesh client: unary calls get the default, streams none; a deadline
the caller gives, or what is left of the inbound call's, bounds every kind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import pytest

from mesh import context as call_context
from tests.conftest import eventually

from .conftest import Mesh, mesh_client, ticks_servers
from .ticks import Recorder, StringValue, values

DEFAULT_TIMEOUT_SECONDS = 0.5
SHORT_DEADLINE_SECONDS = 0.3
# The grpc-timeout header rounds a deadline up to its unit, so a server may see a few
# milliseconds more than the caller had left.
WIRE_ROUNDING_SECONDS = 0.01
STREAMS = ("Ticks", "Collect", "Echo")


async def _then_silence(first: str) -> AsyncIterator[StringValue]:
    """A request stream that sends one message and never ends on its own."""
    yield StringValue(value=first)
    await asyncio.Event().wait()


async def _stream_fails(mesh: Mesh, method: str, **kwargs: float) -> grpc.StatusCode:
    """Open a never-ending stream of `method`'s kind; the code it ends with."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        if method == "Ticks":
            async for _ in mesh.client.ticks(StringValue(value="hang"), **kwargs):
                pass
        elif method == "Collect":
            await mesh.client.collect(_then_silence("a"), **kwargs)
        else:
            async for _ in mesh.client.echo(_then_silence("b"), **kwargs):
                pass
    return raised.value.code()


async def _stream_kinds_fail(mesh: Mesh, **kwargs: float) -> list[grpc.StatusCode]:
    return [await _stream_fails(mesh, method, **kwargs) for method in STREAMS]


async def _all_ended(recorder: Recorder) -> None:
    async def idle() -> bool:
        return recorder.active == 0

    await eventually(idle, timeout=10, interval=0.05, what="the server saw every call end")


async def test_streams_outlive_the_default_unary_deadline() -> None:
    async with (
        ticks_servers() as servers,
        mesh_client(servers.addresses, default_timeout_seconds=DEFAULT_TIMEOUT_SECONDS) as mesh,
    ):
        # Each stream runs about 2 s, four times the default unary deadline.
        ticked = [r.value async for r in mesh.client.ticks(StringValue(value="21:0.1"))]
        echoed = [r.value async for r in mesh.client.echo(values("10:0.1", "11:0.1"))]
        joined = await mesh.client.collect(values(*["wait:0.5"] * 4))
        with pytest.raises(grpc.aio.AioRpcError) as unary:
            await mesh.client.unary(StringValue(value="sleep:2"))

    assert ticked == [str(i) for i in range(21)]
    assert echoed == [str(i) for i in range(10)] + [str(i) for i in range(11)]
    assert joined.value == ",".join(["wait:0.5"] * 4)
    assert unary.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    recorder = servers.recorder
    for method in ("Ticks", "Echo", "Collect"):
        [arrival] = recorder.by_method(method)
        assert arrival.time_remaining is None, f"{method} was sent with a deadline"
    [unary_arrival] = recorder.by_method("Unary")
    assert unary_arrival.time_remaining is not None
    assert unary_arrival.time_remaining <= DEFAULT_TIMEOUT_SECONDS + WIRE_ROUNDING_SECONDS


async def test_an_explicit_deadline_cuts_a_stream() -> None:
    async with (
        ticks_servers() as servers,
        mesh_client(servers.addresses, default_timeout_seconds=DEFAULT_TIMEOUT_SECONDS) as mesh,
    ):
        codes = await _stream_kinds_fail(mesh, timeout=SHORT_DEADLINE_SECONDS)
        await _all_ended(servers.recorder)
        # The client is still usable.
        assert [r.value async for r in mesh.client.ticks(StringValue(value="2:0"))] == ["0", "1"]

    assert codes == [grpc.StatusCode.DEADLINE_EXCEEDED] * 3
    for method in STREAMS:
        arrival = servers.recorder.by_method(method)[0]
        assert arrival.time_remaining is not None
        assert arrival.time_remaining <= SHORT_DEADLINE_SECONDS + WIRE_ROUNDING_SECONDS


async def test_an_explicit_long_deadline_is_kept_for_a_stream() -> None:
    async with ticks_servers() as servers, mesh_client(servers.addresses) as mesh:
        async for _ in mesh.client.ticks(StringValue(value="1:0"), timeout=60):
            pass

    [arrival] = servers.recorder.by_method("Ticks")
    assert arrival.time_remaining is not None
    # Deadlines of seconds go on the wire in coarser units, rounded up by up to 100 ms.
    assert DEFAULT_TIMEOUT_SECONDS < arrival.time_remaining <= 60 + 0.1


async def test_the_inbound_calls_deadline_bounds_outgoing_streams() -> None:
    async with (
        ticks_servers() as servers,
        mesh_client(servers.addresses, default_timeout_seconds=DEFAULT_TIMEOUT_SECONDS) as mesh,
    ):
        codes = []
        for method in STREAMS:
            with call_context.bind(deadline=time.monotonic() + SHORT_DEADLINE_SECONDS):
                codes.append(await _stream_fails(mesh, method))
        await _all_ended(servers.recorder)

    assert codes == [grpc.StatusCode.DEADLINE_EXCEEDED] * 3
    for method in STREAMS:
        arrival = servers.recorder.by_method(method)[0]
        assert arrival.time_remaining is not None
        assert arrival.time_remaining <= SHORT_DEADLINE_SECONDS + WIRE_ROUNDING_SECONDS


async def test_a_spent_inbound_deadline_fails_every_kind_without_sending() -> None:
    async with ticks_servers() as servers, mesh_client(servers.addresses) as mesh:
        with call_context.bind(deadline=time.monotonic() - 1.0):
            with pytest.raises(grpc.aio.AioRpcError) as unary:
                await mesh.client.unary(StringValue())
            codes = [unary.value.code(), *await _stream_kinds_fail(mesh)]

    assert codes == [grpc.StatusCode.DEADLINE_EXCEEDED] * 4
    assert servers.recorder.arrivals == []
