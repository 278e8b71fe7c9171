"""Callers that vanish mid-call — cancelled tasks, closed channels, tiny deadlines, an instance
leaving — end their calls and streams on both sides and leave the mesh client usable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import grpc

from tests.conftest import eventually

from .conftest import Mesh, instances, mesh_client, ticks_servers
from .ticks import KINDS, Recorder, StringValue, TicksClient, relay_handlers, values

PER_KIND = 100  # calls of each of the four kinds in flight at once


async def _silence_after(first: str) -> AsyncIterator[StringValue]:
    yield StringValue(value=first)
    await asyncio.Event().wait()


def _hanging(client: TicksClient, method: str, **kwargs: Any) -> Awaitable[Any]:
    """A call of `method` that never ends unless something ends it."""

    async def read_all(stream: Any) -> list[StringValue]:
        return [response async for response in stream]

    if method == "Unary":
        return client.unary(StringValue(value="sleep:600"), **kwargs)  # type: ignore[no-any-return]
    if method == "Ticks":
        return read_all(client.ticks(StringValue(value="hang"), **kwargs))
    if method == "Collect":
        return client.collect(_silence_after("a"), **kwargs)  # type: ignore[no-any-return]
    return read_all(client.echo(_silence_after("b"), **kwargs))


async def _in_flight(recorder: Recorder, count: int) -> None:
    async def arrived() -> bool:
        return recorder.active == count

    await eventually(arrived, timeout=30, interval=0.05, what=f"{count} calls in flight")


async def _all_over(recorder: Recorder, mesh: Mesh) -> None:
    """Every call ended at the server, and the client chain finished every call it started."""

    async def over() -> bool:
        return recorder.active == 0 and mesh.in_flight() == 0

    await eventually(over, timeout=30, interval=0.05, what="every call over on both sides")


async def _still_usable(client: TicksClient) -> None:
    assert (await client.unary(StringValue())).value.startswith("s")
    assert [r.value async for r in client.ticks(StringValue(value="2:0"))] == ["0", "1"]
    assert (await client.collect(values("a", "b"))).value == "a,b"
    assert [r.value async for r in client.echo(values("x"))] == ["X"]


async def test_a_stream_cancelled_midway_ends_at_the_server() -> None:
    async with ticks_servers() as servers, mesh_client(servers.addresses) as mesh:
        call = mesh.client.ticks(StringValue(value="hang"))
        assert (await call.read()).value == "0"
        await _in_flight(servers.recorder, 1)
        call.cancel()
        await _all_over(servers.recorder, mesh)

        reader = asyncio.ensure_future(_hanging(mesh.client, "Echo"))
        await _in_flight(servers.recorder, 1)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await _all_over(servers.recorder, mesh)

        await _still_usable(mesh.client)

    assert reader.cancelled()
    assert servers.recorder.ended("Ticks", "cancelled") == 1
    assert mesh.metric("grpc_client_handled_total", "Ticks", grpc_code="Canceled") == 1
    assert mesh.metric("grpc_client_handled_total", "Echo", grpc_code="Canceled") == 1


async def test_hundreds_of_cancelled_callers_leave_the_client_usable() -> None:
    async with ticks_servers(2) as servers, mesh_client(servers.addresses) as mesh:
        tasks = [
            asyncio.ensure_future(_hanging(mesh.client, method, timeout=600))
            for method in KINDS
            for _ in range(PER_KIND)
        ]
        await _in_flight(servers.recorder, len(tasks))
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)

        await _all_over(servers.recorder, mesh)
        await _still_usable(mesh.client)

    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    assert servers.recorder.ended("Unary", "cancelled") == PER_KIND
    assert servers.recorder.ended("Ticks", "cancelled") == PER_KIND
    for method in KINDS:
        assert mesh.metric("grpc_client_handled_total", method, grpc_code="Canceled") == PER_KIND


async def test_tiny_deadlines_on_every_kind_leave_the_client_usable() -> None:
    async with ticks_servers() as servers, mesh_client(servers.addresses) as mesh:
        results = await asyncio.gather(
            *(
                _hanging(mesh.client, method, timeout=0.001)
                for method in KINDS
                for _ in range(PER_KIND)
            ),
            return_exceptions=True,
        )
        await _all_over(servers.recorder, mesh)
        await _still_usable(mesh.client)

    codes = {r.code() for r in results if isinstance(r, grpc.aio.AioRpcError)}
    assert codes == {grpc.StatusCode.DEADLINE_EXCEEDED}
    assert sum(isinstance(r, grpc.aio.AioRpcError) for r in results) == len(results)


async def test_a_closed_inbound_channel_ends_the_calls_made_for_it() -> None:
    """edge ▸ A ▸ B: A serves every call by calling B through its mesh client. The edge's
    channel closes with hundreds of calls and streams in flight; A's calls to B end with them,
    and A's mesh client serves new calls."""
    async with (
        ticks_servers() as b,
        mesh_client(b.addresses) as a_mesh,
    ):
        a = grpc.aio.server()
        a.add_generic_rpc_handlers([relay_handlers(a_mesh.client)])
        port = a.add_insecure_port("127.0.0.1:0")
        await a.start()
        try:
            edge = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
            edge_client = TicksClient(edge)
            tasks = [
                asyncio.ensure_future(_hanging(edge_client, method, timeout=600))
                for method in KINDS
                for _ in range(PER_KIND)
            ]
            await _in_flight(b.recorder, len(tasks))
            await edge.close()
            results = await asyncio.gather(*tasks, return_exceptions=True)

            await _all_over(b.recorder, a_mesh)
            await _still_usable(a_mesh.client)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as again:
                await _still_usable(TicksClient(again))
        finally:
            await a.stop(1.0)

    assert all(isinstance(r, asyncio.CancelledError | grpc.aio.AioRpcError) for r in results)
    assert b.recorder.ended("Unary", "cancelled") == PER_KIND
    assert b.recorder.ended("Ticks", "cancelled") == PER_KIND


async def test_streams_to_an_instance_that_left_run_until_its_server_ends_them() -> None:
    async with ticks_servers(2) as servers, mesh_client(servers.addresses) as mesh:
        streams = [
            asyncio.ensure_future(_hanging(mesh.client, "Ticks")) for _ in range(2 * PER_KIND)
        ]
        await _in_flight(servers.recorder, len(streams))
        [_, remaining] = instances(servers.addresses)
        mesh.balancer.update([remaining])

        before = len(servers.recorder.arrivals)
        await _still_usable(mesh.client)
        new_servers = {a.server for a in servers.recorder.arrivals[before:]}
        # s0 left discovery, but its streams are not cut by the client.
        assert mesh.balancer.retired == 1
        assert servers.recorder.active == len(streams)
        assert not any(stream.done() for stream in streams)

        await servers.servers[0].stop(0.1)  # s0 drains and ends its streams

        async def s0_streams_over() -> bool:
            return sum(stream.done() for stream in streams) == PER_KIND

        await eventually(s0_streams_over, timeout=30, interval=0.05, what="s0's streams over")
        ended_by_s0 = [stream for stream in streams if stream.done()]

        async def retired_channel_closed() -> bool:
            return mesh.balancer.retired == 0

        await eventually(retired_channel_closed, timeout=10, interval=0.05, what="s0 closed")

        for stream in streams:
            stream.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        await _all_over(servers.recorder, mesh)

    assert new_servers == {"s1"}
    # The reader sees the status the server ended the stream with, not a local cancellation.
    assert all(isinstance(stream.exception(), grpc.aio.AioRpcError) for stream in ended_by_s0)
    assert servers.recorder.ended("Ticks", "cancelled") == 2 * PER_KIND
