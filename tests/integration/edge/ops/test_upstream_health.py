"""/health and /metrics against the real Consul and a real mesh client discovering from it:
two registered instances of a service, one a grpc.aio server, the other a port nothing
listens on; calls through the client open the dead one's breaker, and the edge's endpoints,
reading the process's live client and the global registry as the running edge does, show it."""

from __future__ import annotations

import uuid

import grpc
import httpx
from grpc_health.v1 import health_pb2
from grpc_health.v1.health import aio as health_aio
from grpc_health.v1.health_pb2_grpc import add_HealthServicer_to_server
from prometheus_client import REGISTRY
from starlette.applications import Starlette

from edge.contracts import Contracts
from edge.ops.config import OpsConfig
from edge.ops.consul_health import ConsulHealth
from edge.ops.info import EdgeIdentity
from edge.ops.routes import ops_routes
from mesh.client import ClientConfig, MeshClient
from mesh.infra import Consul
from mesh.infra.ports import free_port
from tests.conftest import eventually

CHECK = "/grpc.health.v1.Health/Check"


async def _register(http: httpx.AsyncClient, instance_id: str, service: str, port: int) -> None:
    resp = await http.put(
        "/v1/agent/service/register",
        json={
            "ID": instance_id,
            "Name": service,
            "Address": "127.0.0.1",
            "Port": port,
            "Check": {"CheckID": f"{instance_id}-ttl", "TTL": "600s", "Status": "passing"},
        },
    )
    resp.raise_for_status()


async def _server() -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    add_HealthServicer_to_server(health_aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def test_a_breaker_opened_by_real_calls_shows_in_health_and_metrics(
    consul: Consul,
) -> None:
    service = f"ops-mesh-{uuid.uuid4().hex[:8]}"
    live, dead = f"{service}-a", f"{service}-b"
    server, port = await _server()
    async with httpx.AsyncClient(base_url=consul.address, timeout=10) as agent:
        try:
            await _register(agent, live, service, port)
            await _register(agent, dead, service, free_port())
            async with (
                MeshClient(
                    ClientConfig(consul_address=consul.address, plaintext=True),
                    credentials=None,
                    interceptors=[],
                ) as mesh,
                ConsulHealth(consul.address, cache_seconds=0) as reader,
            ):
                await mesh.wait_for_instances(service, 2, timeout_seconds=30)
                routes = ops_routes(
                    identity=EdgeIdentity(instance_id="edge-it"),
                    consul=reader,
                    contracts=lambda: Contracts(()),
                    registry=REGISTRY,
                    config=OpsConfig(health_services=(service,), health_cache_seconds=0),
                )
                async with _http(Starlette(routes=routes)) as edge:
                    before = (await edge.get("/health")).json()["services"][service]
                    call = (await mesh.connect(service)).unary_unary(
                        CHECK,
                        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                        response_deserializer=health_pb2.HealthCheckResponse.FromString,
                        retry_safe=True,
                    )
                    for _ in range(40):
                        await call(health_pb2.HealthCheckRequest(), timeout=10)

                    async def opened() -> httpx.Response:
                        response = await edge.get(f"/health/{service}")
                        assert response.json()["status"] == "degraded", response.json()
                        return response

                    detail = (await eventually(opened, what="the dead instance shown open")).json()
                    overall = (await edge.get("/health")).json()
                    metrics = (await edge.get("/metrics")).text
        finally:
            for instance_id in (live, dead):
                await agent.put(f"/v1/agent/service/deregister/{instance_id}")
            await server.stop(1.0)

    assert before["status"] == "healthy"
    assert before["client"]["breakers"] == {live: "closed", dead: "closed"}
    assert overall["status"] == "degraded"
    assert overall["services"][service]["client"]["breakers"] == {live: "closed", dead: "open"}
    by_id = {i["id"]: i for i in detail["instances"]}
    assert (by_id[dead]["status"], by_id[dead]["breaker"], by_id[dead]["ejections"]) == (
        "passing",
        "open",
        1,
    )
    assert (by_id[live]["status"], by_id[live]["breaker"]) == ("passing", "closed")
    assert detail["client"]["retries"] == 5 and detail["client"]["ejections"] == 1
    dead_address = f"127.0.0.1:{by_id[dead]['port']}"
    assert (
        f'mesh_client_breaker_state{{address="{dead_address}",instance="{dead}",'
        f'upstream="{service}"}} 2.0'
    ) in metrics
    assert f'mesh_client_ejections_total{{upstream="{service}"}} 1.0' in metrics


def _http(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge")
