"""Streams through the MeshClient against the real Consul and real mTLS servers: no default
deadline for streams, the caller's deadline still cuts them, every kind carries the call
context and is balanced over the healthy instances."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from prometheus_client import CollectorRegistry
from trademesh.notification.v1 import notification_pb2 as pb
from trademesh.notification.v1 import notification_pb2_grpc as pb_grpc

from interceptors import STANDARD_PUBLIC_METHODS, ServerInterceptorConfig, server_interceptors
from mesh import context as call_context
from mesh.client import ClientConfig, ClientInterceptorConfig, MeshClient, client_interceptors
from mesh.context import Principal
from mesh.infra import Consul
from mesh.server import MeshServer, ServerConfig, Servicer, ServiceSpec
from tests.conftest import eventually
from tests.integration.mesh.conftest import credentials
from tests.integration.mesh.probe_service import STREAM_COUNT, probe_spec
from tests.unit.client import ticks

DEFAULT_TIMEOUT_SECONDS = 0.5
SHORT_DEADLINE_SECONDS = 0.3
WIRE_ROUNDING_SECONDS = 0.01
PRINCIPAL = Principal(
    user_id="user-1", session_id="session-1", roles=frozenset({"viewer"}), token="user-token"
)


def _ticks_spec(name: str, recorder: ticks.Recorder, label: str) -> ServiceSpec:
    """Ticks behind the real server chain; its methods are public (no contract options)."""

    def add(handler: grpc.GenericRpcHandler, server: grpc.aio.Server) -> None:
        server.add_generic_rpc_handlers([handler])

    public = STANDARD_PUBLIC_METHODS | {f"/{ticks.SERVICE}/{method}" for method in ticks.KINDS}
    return ServiceSpec(
        name=name,
        servicers=[Servicer(add, ticks.handlers(recorder, label), ticks.SERVICE)],
        interceptors=server_interceptors(
            ServerInterceptorConfig(
                service_name=name, registry=CollectorRegistry(), public_methods=public
            )
        ),
    )


def _client(consul: Consul, tls_dir: Path, registry: CollectorRegistry) -> MeshClient:
    config = ClientConfig(
        consul_address=consul.address,
        discovery_wait_seconds=5,
        default_timeout_seconds=DEFAULT_TIMEOUT_SECONDS,
    )
    return MeshClient(
        config,
        credentials=credentials(tls_dir, "edge"),
        interceptors=client_interceptors(ClientInterceptorConfig(registry=registry)),
    )


async def _then_silence(first: str) -> AsyncIterator[ticks.StringValue]:
    yield ticks.StringValue(value=first)
    await asyncio.Event().wait()


async def test_a_stubs_server_stream_outlives_the_default_deadline(
    consul: Consul, server_config: ServerConfig, tls_dir: Path
) -> None:
    name = f"probe{uuid.uuid4().hex[:6]}"
    async with (
        MeshServer(probe_spec("streamer", name=name), server_config),
        _client(consul, tls_dir, CollectorRegistry()) as mesh,
    ):
        await mesh.wait_for_instances(name, timeout_seconds=20)
        stub = await mesh.stub(pb_grpc.NotificationServiceStub, name)
        stream = stub.StreamNotifications(pb.StreamNotificationsRequest())
        titles = [r.notification.title async for r in stream]
        with pytest.raises(grpc.aio.AioRpcError) as cut:
            async for _ in stub.StreamNotifications(
                pb.StreamNotificationsRequest(), timeout=SHORT_DEADLINE_SECONDS
            ):
                pass

    # STREAM_COUNT notifications 0.1 s apart: about four times the default unary deadline.
    assert titles == [f"streamer:{index}" for index in range(STREAM_COUNT)]
    assert cut.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


async def test_every_kind_through_consul_keeps_streams_open_and_carries_the_context(
    consul: Consul, server_config: ServerConfig, tls_dir: Path
) -> None:
    name = f"ticks{uuid.uuid4().hex[:6]}"
    recorder = ticks.Recorder()
    registry = CollectorRegistry()
    async with (
        MeshServer(_ticks_spec(name, recorder, "s0"), server_config),
        _client(consul, tls_dir, registry) as mesh,
    ):
        await mesh.wait_for_instances(name, timeout_seconds=20)
        client = ticks.TicksClient(await mesh.connect(name))
        with call_context.bind(correlation_id="mesh-streams-1", principal=PRINCIPAL):
            ticked = [r.value async for r in client.ticks(ticks.StringValue(value="21:0.1"))]
            echoed = [r.value async for r in client.echo(ticks.values("10:0.1", "10:0.1"))]
            joined = await client.collect(ticks.values(*["wait:0.5"] * 4))
            answered = await client.unary(ticks.StringValue())
            with pytest.raises(grpc.aio.AioRpcError) as unary_cut:
                await client.unary(ticks.StringValue(value="sleep:2"))

        def handled(method: str) -> float:
            value = registry.get_sample_value(
                "grpc_client_handled_total",
                {
                    "grpc_type": ticks.GRPC_TYPES[method],
                    "grpc_service": ticks.SERVICE,
                    "grpc_method": method,
                    "grpc_code": "OK",
                },
            )
            return value or 0.0

        async def all_counted() -> bool:
            return all(handled(method) == 1 for method in ticks.KINDS)

        await eventually(all_counted, timeout=10, interval=0.05, what="client metrics")

    assert ticked == [str(i) for i in range(21)]
    assert len(echoed) == 20
    assert joined.value == ",".join(["wait:0.5"] * 4)
    assert answered.value == "s0"
    assert unary_cut.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    for method in ticks.KINDS:
        for arrival in recorder.by_method(method):
            assert arrival.metadata.get("x-correlation-id") == "mesh-streams-1", method
            assert arrival.metadata.get("authorization") == "Bearer user-token", method
            if method == "Unary":
                assert arrival.time_remaining is not None
            else:
                assert arrival.time_remaining is None, f"{method} got a default deadline"


async def test_a_deadline_the_caller_gives_cuts_every_stream_kind(
    consul: Consul, server_config: ServerConfig, tls_dir: Path
) -> None:
    name = f"ticks{uuid.uuid4().hex[:6]}"
    recorder = ticks.Recorder()
    async with (
        MeshServer(_ticks_spec(name, recorder, "s0"), server_config),
        _client(consul, tls_dir, CollectorRegistry()) as mesh,
    ):
        await mesh.wait_for_instances(name, timeout_seconds=20)
        client = ticks.TicksClient(await mesh.connect(name))
        codes: list[grpc.StatusCode] = []
        with pytest.raises(grpc.aio.AioRpcError) as server_stream:
            async for _ in client.ticks(
                ticks.StringValue(value="hang"), timeout=SHORT_DEADLINE_SECONDS
            ):
                pass
        codes.append(server_stream.value.code())
        with pytest.raises(grpc.aio.AioRpcError) as client_stream:
            await client.collect(_then_silence("a"), timeout=SHORT_DEADLINE_SECONDS)
        codes.append(client_stream.value.code())
        with call_context.bind(deadline=time.monotonic() + SHORT_DEADLINE_SECONDS):
            with pytest.raises(grpc.aio.AioRpcError) as bidi:
                async for _ in client.echo(_then_silence("b")):
                    pass
        codes.append(bidi.value.code())

        async def all_ended() -> bool:
            return recorder.active == 0

        await eventually(all_ended, timeout=10, interval=0.05, what="server saw the ends")
        assert [r.value async for r in client.ticks(ticks.StringValue(value="2:0"))] == ["0", "1"]

    assert codes == [grpc.StatusCode.DEADLINE_EXCEEDED] * 3
    for method in ("Ticks", "Collect", "Echo"):
        remaining = recorder.by_method(method)[0].time_remaining
        assert remaining is not None
        assert remaining <= SHORT_DEADLINE_SECONDS + WIRE_ROUNDING_SECONDS


async def test_every_kind_is_balanced_over_healthy_instances(
    consul: Consul, server_config: ServerConfig, tls_dir: Path
) -> None:
    name = f"ticks{uuid.uuid4().hex[:6]}"
    recorder = ticks.Recorder()
    async with (
        MeshServer(_ticks_spec(name, recorder, "s0"), server_config),
        MeshServer(_ticks_spec(name, recorder, "s1"), server_config),
        _client(consul, tls_dir, CollectorRegistry()) as mesh,
    ):
        await mesh.wait_for_instances(name, count=2, timeout_seconds=20)
        client = ticks.TicksClient(await mesh.connect(name))
        for _ in range(4):
            await client.unary(ticks.StringValue())
        for _ in range(4):
            async for _ in client.ticks(ticks.StringValue(value="1:0")):
                pass
        for _ in range(4):
            await client.collect(ticks.values("a"))
        for _ in range(4):
            async for _ in client.echo(ticks.values("a")):
                pass

    for method in ticks.KINDS:
        assert Counter(a.server for a in recorder.by_method(method)) == {"s0": 2, "s1": 2}


async def test_streams_to_a_draining_instance_end_with_its_status(
    consul: Consul, server_config: ServerConfig, tls_dir: Path
) -> None:
    name = f"ticks{uuid.uuid4().hex[:6]}"
    recorder = ticks.Recorder()
    quick_drain = replace(server_config, grace_seconds=0.5)
    leaving = MeshServer(_ticks_spec(name, recorder, "s0"), quick_drain)
    async with (
        MeshServer(_ticks_spec(name, recorder, "s1"), server_config),
        _client(consul, tls_dir, CollectorRegistry()) as mesh,
    ):
        await leaving.start()
        try:
            await mesh.wait_for_instances(name, count=2, timeout_seconds=20)
            client = ticks.TicksClient(await mesh.connect(name))

            async def read_all() -> list[str]:
                return [r.value async for r in client.ticks(ticks.StringValue(value="hang"))]

            streams = [asyncio.ensure_future(read_all()) for _ in range(20)]

            async def all_open() -> bool:
                return recorder.active == len(streams)

            await eventually(all_open, timeout=10, interval=0.05, what="streams open")
            await leaving.stop()

            async def s0_streams_over() -> bool:
                return sum(stream.done() for stream in streams) == len(streams) // 2

            await eventually(s0_streams_over, timeout=30, interval=0.05, what="s0 drained")
            ended_by_s0 = [stream for stream in streams if stream.done()]

            async def s0_gone() -> bool:
                return [i.port for i in mesh.instances(name)] != [] and all(
                    i.port != leaving.port for i in mesh.instances(name)
                )

            await eventually(s0_gone, timeout=20, what="the client dropped s0")
            before = len(recorder.arrivals)
            for _ in range(4):
                await client.unary(ticks.StringValue())
            answered_by = {a.server for a in recorder.arrivals[before:]}
            still_open = [stream for stream in streams if not stream.done()]
            for stream in streams:
                stream.cancel()
            await asyncio.gather(*streams, return_exceptions=True)
        finally:
            await leaving.stop()

    assert all(isinstance(stream.exception(), grpc.aio.AioRpcError) for stream in ended_by_s0)
    assert len(still_open) == len(streams) // 2  # s1's streams went on
    assert answered_by == {"s1"}
