"""Fixtures for the mesh client tests: real grpc.aio servers on loopback (port 0) serving the
Ticks service, and the mesh client's balanced channel with the standard client chain over
them. Consul is left out here (the balancer is handed the instances); tests/integration/mesh
runs the same client against the real Consul."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from mesh.client import BalancedChannel, ClientConfig, InstancePool, Upstream, instance_channel
from mesh.client.interceptors import ClientInterceptorConfig, client_interceptors
from mesh.discovery import Instance

from . import ticks

STOP_GRACE_SECONDS = 1.0


@dataclass
class Servers:
    addresses: list[str]
    recorder: ticks.Recorder
    servers: list[grpc.aio.Server]


@asynccontextmanager
async def ticks_servers(
    count: int = 1, recorder: ticks.Recorder | None = None
) -> AsyncIterator[Servers]:
    """`count` grpc.aio servers on 127.0.0.1 serving Ticks, named s0, s1, ..."""
    recorder = recorder or ticks.Recorder()
    async with AsyncExitStack() as stack:
        addresses: list[str] = []
        servers: list[grpc.aio.Server] = []
        for index in range(count):
            server = grpc.aio.server()
            server.add_generic_rpc_handlers([ticks.handlers(recorder, f"s{index}")])
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
            stack.push_async_callback(server.stop, STOP_GRACE_SECONDS)
            addresses.append(f"127.0.0.1:{port}")
            servers.append(server)
        yield Servers(addresses, recorder, servers)


@dataclass
class Mesh:
    """The mesh client's side: a balanced channel over the servers and what it records."""

    channel: BalancedChannel
    balancer: InstancePool
    client: ticks.TicksClient
    registry: CollectorRegistry
    spans: InMemorySpanExporter

    def metric(self, name: str, method: str, **labels: str) -> float:
        value = self.registry.get_sample_value(
            name,
            {
                "grpc_type": ticks.GRPC_TYPES[method],
                "grpc_service": ticks.SERVICE,
                "grpc_method": method,
                **labels,
            },
        )
        return value or 0.0

    def in_flight(self) -> float:
        """Calls the client metrics saw start but not finish, over all methods."""
        started = handled = 0.0
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name == "grpc_client_started_total":
                    started += sample.value
                elif sample.name == "grpc_client_handled_total":
                    handled += sample.value
        return started - handled


def instances(addresses: list[str]) -> list[Instance]:
    found: list[Instance] = []
    for index, address in enumerate(addresses):
        host, port = address.rsplit(":", 1)
        found.append(Instance(f"ticks-{index}", host, int(port)))
    return found


@asynccontextmanager
async def mesh_client(
    addresses: list[str],
    *,
    default_timeout_seconds: float = 5.0,
    config: ClientConfig | None = None,
) -> AsyncIterator[Mesh]:
    """What `MeshClient.connect("ticks")` returns, over `addresses`, with the standard chain."""
    registry = CollectorRegistry()
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    interceptors = client_interceptors(
        ClientInterceptorConfig(registry=registry, tracer_provider=provider)
    )
    upstream = Upstream(
        "ticks",
        lambda instance: instance_channel(
            instance.address, service="ticks", credentials=None, interceptors=interceptors
        ),
        config or ClientConfig(default_timeout_seconds=default_timeout_seconds),
    )
    balancer = upstream.pool
    balancer.update(instances(addresses))
    channel = BalancedChannel(upstream)
    try:
        yield Mesh(channel, balancer, ticks.TicksClient(channel), registry, spans)
    finally:
        await balancer.close()


@pytest.fixture
def recorder() -> ticks.Recorder:
    return ticks.Recorder()
