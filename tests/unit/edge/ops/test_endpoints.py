"""/metrics, /info and the 404 of /health/{service} for a service the edge does not call
(none of them needs Consul; the Consul-backed answers are tested against a real one in
tests/integration/edge/ops)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from types import SimpleNamespace

import grpc
import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from starlette.applications import Starlette

from edge.contracts import Contracts, compiled_contracts
from edge.http.metrics import MetricsMiddleware
from edge.ops.consul_health import ConsulHealth
from edge.ops.info import EdgeIdentity, bindings, served_routes
from edge.ops.routes import ops_routes
from edge.rest.routes import PathTemplate, Route

IDENTITY = EdgeIdentity(
    instance_id="edge-7",
    version="9.9.9",
    started_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
)


@pytest.fixture
def contracts() -> Contracts:
    return compiled_contracts()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def client(
    contracts: Contracts, registry: CollectorRegistry
) -> AsyncIterator[httpx.AsyncClient]:
    # Nothing listens on port 9: a request that reached Consul would fail loudly.
    async with ConsulHealth("http://127.0.0.1:9") as consul:
        routes = ops_routes(
            identity=IDENTITY,
            consul=consul,
            contracts=lambda: contracts,
            registry=registry,
        )
        app = MetricsMiddleware(Starlette(routes=routes), registry=registry)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://edge") as http:
            yield http


def test_bindings_list_each_http_rule_primary_first(contracts: Contracts) -> None:
    found = {m.name: bindings(m) for m in contracts}
    assert found["trademesh.identity.v1.IdentityService.Login"] == [("POST", "/api/v1/auth/login")]
    served = served_routes(contracts, None)
    assert len(served) == sum(len(bindings(m)) for m in contracts if m.reachable)
    service_only = {m.name for m in contracts if not m.reachable}
    assert service_only  # the contracts do have RPCs only services may call
    assert not [r for r in served if r.rpc in service_only]


async def test_metrics_are_the_registry_in_prometheus_text(
    client: httpx.AsyncClient, registry: CollectorRegistry
) -> None:
    Counter("probe_total", "A probe.", registry=registry).inc(3)
    await client.get("/info")

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "probe_total 3.0" in response.text
    assert 'http_requests_total{code="200",method="GET",route="/info"} 1.0' in response.text


async def test_metrics_in_openmetrics_when_asked(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


async def test_info_says_what_this_edge_is(client: httpx.AsyncClient, contracts: Contracts) -> None:
    response = await client.get("/info")

    info = response.json()
    assert response.status_code == 200
    assert info["name"] == "edge"
    assert info["version"] == "9.9.9"
    assert info["instanceId"] == "edge-7"
    assert info["startedAt"] == "2026-01-02T03:04:05+00:00"
    assert info["uptimeSeconds"] >= 0
    assert info["grpc"] == grpc.__version__
    assert info["python"].count(".") == 2
    assert info["routes"] == len(served_routes(contracts, None)) > 0
    assert info["services"] == list(contracts.services)


async def test_health_of_a_service_the_edge_does_not_call_is_404(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/health/billing")

    assert response.status_code == 404
    body = response.json()
    assert body["code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert "billing" in body["message"]
    assert body["details"][0]["reason"] == "SERVICE_UNKNOWN"


async def test_with_a_route_table_info_counts_what_it_serves(
    contracts: Contracts, registry: CollectorRegistry
) -> None:
    login = next(m for m in contracts if m.name.endswith("IdentityService.Login"))
    table = SimpleNamespace(
        routes=(Route("POST", PathTemplate("/api/v1/auth/login", ()), login, "*", ""),)
    )
    routes = ops_routes(
        consul_address="http://127.0.0.1:9",
        contracts=lambda: contracts,
        routes=lambda: table,
        registry=registry,
        name="edge1",
    )
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
        info = (await client.get("/info")).json()
    assert info["routes"] == 1
    assert info["name"] == "edge1"
    assert info["instanceId"].startswith("edge1-")


def test_ops_routes_needs_one_way_to_reach_consul(
    contracts: Contracts, registry: CollectorRegistry
) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ops_routes(contracts=lambda: contracts, registry=registry)
