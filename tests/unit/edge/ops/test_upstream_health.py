"""/health and /metrics with the mesh client's view: a real mesh client upstream over a real
grpc.aio server on loopback and an instance on a port nothing listens on, its breaker driven
open by real UNAVAILABLE failures. Consul is left out here: the pool is handed its instances,
and Consul's health answer comes from an httpx MockTransport listing the same two instances
as passing (tests/integration/edge/ops runs the whole thing against the real Consul)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
from grpc_health.v1 import health_pb2
from grpc_health.v1.health import aio as health_aio
from grpc_health.v1.health_pb2_grpc import add_HealthServicer_to_server
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from edge.contracts import Contracts
from edge.ops.config import OpsConfig
from edge.ops.consul_health import ConsulHealth
from edge.ops.info import EdgeIdentity
from edge.ops.routes import ops_routes
from mesh.client import (
    BalancedChannel,
    ClientConfig,
    MeshClient,
    Upstream,
    UpstreamState,
    instance_channel,
)
from mesh.client.metrics import live_clients
from mesh.discovery import Instance
from mesh.infra.ports import free_port
from mesh.resilience import BreakerConfig
from tests.conftest import eventually

CHECK = "/grpc.health.v1.Health/Check"


class FedMeshClient(MeshClient):
    """A MeshClient whose one upstream is built and fed its instances by the test instead of
    by a Consul watch; counted among the process's live clients like a connected one."""

    def __init__(self, upstream: Upstream) -> None:
        super().__init__(ClientConfig(plaintext=True), credentials=None, interceptors=[])
        self.fed = upstream
        live_clients.add(self)

    def upstream_states(self) -> list[UpstreamState]:
        return [self.fed.state()]


@dataclass
class Setup:
    service: str
    live: Instance
    dead: Instance
    channel: BalancedChannel
    http: httpx.AsyncClient
    client: FedMeshClient

    async def check(self, count: int) -> None:
        call = self.channel.unary_unary(
            CHECK,
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
            retry_safe=True,
        )
        for _ in range(count):
            answer = await call(health_pb2.HealthCheckRequest())
            assert answer.status == health_pb2.HealthCheckResponse.SERVING


def consul_answer(service: str, instances: Sequence[Instance]) -> httpx.MockTransport:
    entries = [
        {
            "Node": {"Node": "node-1", "Address": "127.0.0.1"},
            "Service": {"ID": i.instance_id, "Service": service, "Address": i.host, "Port": i.port},
            "Checks": [{"CheckID": f"{i.instance_id}-grpc", "Name": "grpc", "Status": "passing"}],
        }
        for i in instances
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/v1/health/service/{service}":
            return httpx.Response(200, json=entries)
        return httpx.Response(404, text="unknown service")

    return httpx.MockTransport(answer)


@asynccontextmanager
async def setup(
    breaker: BreakerConfig | None = None, registry: CollectorRegistry | None = None
) -> AsyncIterator[Setup]:
    service = f"ops-up-{uuid.uuid4().hex[:8]}"
    async with AsyncExitStack() as stack:
        server = grpc.aio.server()
        add_HealthServicer_to_server(health_aio.HealthServicer(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        stack.push_async_callback(server.stop, 1.0)
        # Ids sort the live instance first, so round-robin's first call reaches it.
        live = Instance(f"{service}-a", "127.0.0.1", port)
        dead = Instance(f"{service}-b", "127.0.0.1", free_port())
        upstream = Upstream(
            service,
            lambda i: instance_channel(
                i.address, service=service, credentials=None, interceptors=[]
            ),
            ClientConfig(plaintext=True, breaker=breaker or BreakerConfig()),
        )
        upstream.pool.update([live, dead])
        stack.push_async_callback(upstream.pool.close)
        client = FedMeshClient(upstream)
        consul = await stack.enter_async_context(
            ConsulHealth(
                "http://consul.test",
                cache_seconds=0,
                transport=consul_answer(service, [live, dead]),
            )
        )
        routes = ops_routes(
            identity=EdgeIdentity(instance_id="edge-test"),
            consul=consul,
            contracts=lambda: Contracts(()),
            registry=registry if registry is not None else CollectorRegistry(),
            config=OpsConfig(health_services=(service,), health_cache_seconds=0),
        )
        http = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=Starlette(routes=routes)),
                base_url="http://edge",
            )
        )
        yield Setup(service, live, dead, BalancedChannel(upstream), http, client)


def breaker_samples(text: str, service: str) -> dict[str, float]:
    """mesh_client_breaker_state of `service`'s instances by instance id, and how many
    families of that name the text carries."""
    found: dict[str, float] = {}
    families = 0
    for family in text_string_to_metric_families(text):
        if family.name == "mesh_client_breaker_state":
            families += 1
            for sample in family.samples:
                if sample.labels["upstream"] == service:
                    found[sample.labels["instance"]] = sample.value
    assert families == 1, f"{families} mesh_client_breaker_state families"
    return found


async def test_before_any_failure_every_breaker_is_closed_and_the_service_healthy() -> None:
    async with setup() as s:
        await s.check(4)  # fewer failures than the five in a row that open a breaker
        doc = (await s.http.get("/health")).json()

    assert doc["status"] == "healthy"
    retries = doc["services"][s.service]["client"]["retries"]
    assert 1 <= retries <= 4  # the dead instance's failures, each sent again to the live one
    assert doc["services"][s.service] == {
        "status": "healthy",
        "passing": 2,
        "total": 2,
        "client": {
            "balancer": "round_robin",
            "breakers": {s.live.instance_id: "closed", s.dead.instance_id: "closed"},
            "retries": retries,
            "budgetExhausted": 0,
            "shed": 0,
        },
    }


async def test_an_instance_that_fails_five_times_in_a_row_shows_open_and_degrades() -> None:
    async with setup() as s:
        await s.check(40)
        overall = await s.http.get("/health")
        detail = await s.http.get(f"/health/{s.service}")
        metrics = await s.http.get("/metrics")

    assert overall.status_code == 200  # degraded still answers
    doc = overall.json()
    assert doc["status"] == "degraded"
    summary = doc["services"][s.service]
    assert (summary["status"], summary["passing"], summary["total"]) == ("degraded", 2, 2)
    assert summary["client"]["breakers"] == {
        s.live.instance_id: "closed",
        s.dead.instance_id: "open",
    }
    assert summary["client"]["retries"] == BreakerConfig().consecutive_failures

    assert detail.status_code == 200
    one = detail.json()
    assert one["status"] == "degraded"
    client: dict[str, Any] = one["client"]
    assert client["balancer"] == "round_robin"
    assert client["retries"] == 5
    assert (client["budgetExhausted"], client["shed"], client["ejections"]) == (0, 0, 1)
    assert (client["callsInFlight"], client["streamsInFlight"]) == (0, 0)
    by_id = {i["id"]: i for i in one["instances"]}
    dead, live = by_id[s.dead.instance_id], by_id[s.live.instance_id]
    assert (dead["status"], dead["breaker"], dead["ejections"], dead["inFlight"]) == (
        "passing",
        "open",
        1,
        0,
    )
    assert (live["status"], live["breaker"], live["ejections"]) == ("passing", "closed", 0)
    assert live["port"] == s.live.port and live["checks"] == [{"name": "grpc", "status": "passing"}]
    assert live["latencyMs"] > 0

    assert breaker_samples(metrics.text, s.service) == {
        s.live.instance_id: 0.0,
        s.dead.instance_id: 2.0,
    }


async def test_an_edge_serving_the_global_registry_shows_the_families_once() -> None:
    async with setup(registry=REGISTRY) as s:
        await s.check(40)
        text = (await s.http.get("/metrics")).text
    assert breaker_samples(text, s.service)[s.dead.instance_id] == 2.0
    assert f'mesh_client_retries_total{{upstream="{s.service}"}} 5.0' in text


async def test_an_instance_that_recovers_is_probed_back_in_and_the_service_is_healthy() -> None:
    async with setup(BreakerConfig(base_ejection_seconds=0.2, max_ejection_seconds=1.0)) as s:
        await s.check(12)
        await eventually(lambda: status_is(s, "degraded"), what="the breaker opened")
        # The dead instance comes to life on its port.
        server = grpc.aio.server()
        add_HealthServicer_to_server(health_aio.HealthServicer(), server)
        server.add_insecure_port(s.dead.address)
        await server.start()
        try:

            async def probed_back() -> bool:
                await s.check(4)
                return await status_is(s, "healthy")

            await eventually(probed_back, what="the half-open probe closed the breaker")
            doc = (await s.http.get(f"/health/{s.service}")).json()
        finally:
            await server.stop(1.0)
    assert {i["id"]: i["breaker"] for i in doc["instances"]} == {
        s.live.instance_id: "closed",
        s.dead.instance_id: "closed",
    }
    assert doc["client"]["ejections"] >= 1 and doc["client"]["probes"] >= 1


async def status_is(s: Setup, expected: str) -> bool:
    doc = (await s.http.get("/health")).json()
    assert doc["services"][s.service]["status"] == expected, doc
    return True
