"""/health, /health/{service} and /services against the real Consul: services registered
with TTL checks set passing or critical make them healthy, degraded or unhealthy."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette

from edge.contracts import Contracts, compiled_services
from edge.ops.config import OpsConfig
from edge.ops.consul_health import ConsulHealth
from edge.ops.info import EdgeIdentity
from edge.ops.routes import ops_routes
from mesh.discovery.consul import ConsulError
from mesh.infra import Consul
from mesh.infra.ports import free_ports
from tests.conftest import eventually

Register = Callable[[str, str], Awaitable[str]]


def _name(what: str) -> str:
    return f"ops-{what}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def agent(consul: Consul) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=consul.address, timeout=10) as http:
        yield http


@pytest.fixture
async def register(agent: httpx.AsyncClient) -> AsyncIterator[Register]:
    """Registers an instance of a service whose TTL check starts in the given state."""
    made: list[str] = []
    port = iter(range(20000, 30000))

    async def add(service: str, status: str) -> str:
        instance_id = f"{service}-{len(made)}"
        resp = await agent.put(
            "/v1/agent/service/register",
            json={
                "ID": instance_id,
                "Name": service,
                "Address": "127.0.0.1",
                "Port": next(port),
                "Check": {"CheckID": f"{instance_id}-ttl", "TTL": "600s", "Status": status},
            },
        )
        resp.raise_for_status()
        made.append(instance_id)
        return instance_id

    yield add
    for instance_id in made:
        await agent.put(f"/v1/agent/service/deregister/{instance_id}")


async def _set_check(agent: httpx.AsyncClient, instance_id: str, state: str) -> None:
    verb = {"passing": "pass", "warning": "warn", "critical": "fail"}[state]
    (await agent.put(f"/v1/agent/check/{verb}/{instance_id}-ttl")).raise_for_status()


def _app(
    consul_health: ConsulHealth, services: list[str], contracts: Contracts | None = None
) -> httpx.AsyncClient:
    known = contracts or Contracts(())
    routes = ops_routes(
        identity=EdgeIdentity(instance_id="edge-test"),
        consul=consul_health,
        contracts=lambda: known,
        registry=CollectorRegistry(),
        config=OpsConfig(health_services=tuple(services), health_cache_seconds=0),
    )
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    return httpx.AsyncClient(transport=transport, base_url="http://edge")


async def test_each_service_is_healthy_degraded_or_unhealthy_and_the_whole_its_worst(
    consul: Consul, register: Register
) -> None:
    healthy, degraded, down, absent = (_name(w) for w in ("ok", "half", "down", "none"))
    await register(healthy, "passing")
    await register(healthy, "passing")
    await register(degraded, "passing")
    await register(degraded, "critical")
    await register(down, "critical")

    async with (
        ConsulHealth(consul.address, cache_seconds=0) as reader,
        _app(reader, [healthy, degraded, down, absent]) as client,
    ):

        async def answered() -> httpx.Response:
            response = await client.get("/health")
            assert response.json()["services"][healthy]["total"] == 2
            return response

        response = await eventually(answered, what="consul reports the registrations")

    assert response.status_code == 503
    doc = response.json()
    assert doc["status"] == "unhealthy"
    assert doc["services"] == {
        healthy: {"status": "healthy", "passing": 2, "total": 2},
        degraded: {"status": "degraded", "passing": 1, "total": 2},
        down: {"status": "unhealthy", "passing": 0, "total": 1},
        absent: {"status": "unhealthy", "passing": 0, "total": 0},
    }


async def test_a_degraded_mesh_still_answers_200_and_a_failing_check_shows_up(
    consul: Consul, register: Register, agent: httpx.AsyncClient
) -> None:
    service = _name("flip")
    await register(service, "passing")
    second = await register(service, "passing")

    async with (
        ConsulHealth(consul.address, cache_seconds=0.1) as reader,
        _app(reader, [service]) as client,
    ):

        async def status_is(expected: str) -> httpx.Response:
            response = await client.get("/health")
            assert response.json()["status"] == expected
            return response

        assert (await eventually(lambda: status_is("healthy"))).status_code == 200
        await _set_check(agent, second, "warning")
        assert (await eventually(lambda: status_is("degraded"))).status_code == 200
        await _set_check(agent, second, "passing")
        assert (await eventually(lambda: status_is("healthy"))).status_code == 200


async def test_one_service_in_detail(consul: Consul, register: Register) -> None:
    service = _name("detail")
    good = await register(service, "passing")
    bad = await register(service, "critical")

    async with (
        ConsulHealth(consul.address, cache_seconds=0) as reader,
        _app(reader, [service]) as client,
    ):

        async def detailed() -> httpx.Response:
            response = await client.get(f"/health/{service}")
            assert response.json()["total"] == 2
            return response

        response = await eventually(detailed)

    assert response.status_code == 200
    doc = response.json()
    assert (doc["service"], doc["status"], doc["passing"]) == (service, "degraded", 1)
    by_id = {i["id"]: i for i in doc["instances"]}
    assert by_id[good]["status"] == "passing"
    assert by_id[bad]["status"] == "critical"
    assert by_id[bad]["address"] == "127.0.0.1" and by_id[bad]["port"] >= 20000
    own = [c for c in by_id[bad]["checks"] if c["status"] == "critical"]
    assert own, by_id[bad]["checks"]
    # The node's own check (serfHealth) counts too.
    assert len(by_id[good]["checks"]) >= 2


async def test_an_unhealthy_service_in_detail_is_503(consul: Consul, register: Register) -> None:
    service = _name("gone")
    await register(service, "critical")
    async with (
        ConsulHealth(consul.address, cache_seconds=0) as reader,
        _app(reader, [service]) as client,
    ):

        async def registered() -> httpx.Response:
            response = await client.get(f"/health/{service}")
            assert response.json()["total"] == 1
            return response

        response = await eventually(registered)
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"


async def test_without_consul_every_service_is_unhealthy_with_the_reason() -> None:
    (port,) = free_ports(1)  # nothing listens there
    async with (
        ConsulHealth(f"http://127.0.0.1:{port}", cache_seconds=0) as reader,
        _app(reader, ["trading"]) as client,
    ):
        response = await client.get("/health")
        detail = await client.get("/health/trading")
    assert response.status_code == 503
    assert response.json()["services"]["trading"]["status"] == "unhealthy"
    assert response.json()["services"]["trading"]["error"] == "consul unavailable"
    assert str(port) not in response.text  # where Consul lives is not told
    assert detail.status_code == 503 and detail.json()["instances"] == []


class _Counting(httpx.AsyncBaseTransport):
    """The real transport, counting the requests and holding them until released."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[str] = []
        self.released = asyncio.Event()
        self.released.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        await self.released.wait()
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_burst_of_health_requests_asks_consul_once_per_service(
    consul: Consul, register: Register
) -> None:
    first, second = _name("burst-a"), _name("burst-b")
    await register(first, "passing")
    await register(second, "passing")
    counting = _Counting()
    counting.released.clear()

    async with (
        ConsulHealth(consul.address, cache_seconds=60, transport=counting) as reader,
        _app(reader, [first, second]) as client,
    ):
        burst = [asyncio.create_task(client.get("/health")) for _ in range(40)]
        await eventually(lambda: _true(len(counting.requests) == 2), what="both fetches started")
        counting.released.set()
        answers = await asyncio.gather(*burst)
        again = await client.get("/health")  # within the cache window

    assert sorted(counting.requests) == sorted(
        [f"/v1/health/service/{first}", f"/v1/health/service/{second}"]
    )
    assert {a.json()["status"] for a in [*answers, again]} == {"healthy"}


async def _true(value: bool) -> bool:
    return value


async def test_a_caller_that_goes_away_does_not_cancel_the_fetch_others_wait_for(
    consul: Consul, register: Register
) -> None:
    service = _name("vanish")
    await register(service, "passing")
    counting = _Counting()
    counting.released.clear()
    async with ConsulHealth(consul.address, cache_seconds=60, transport=counting) as reader:
        leaving = asyncio.create_task(reader.instances(service))
        staying = asyncio.create_task(reader.instances(service))
        await eventually(lambda: _true(len(counting.requests) == 1))
        leaving.cancel()
        counting.released.set()
        instances = await staying
        with pytest.raises(asyncio.CancelledError):
            await leaving
    assert [i.passing for i in instances] == [True]
    assert len(counting.requests) == 1


async def test_stopping_with_a_fetch_in_flight_ends_it_and_tells_the_waiters(
    consul: Consul,
) -> None:
    counting = _Counting()
    counting.released.clear()
    reader = ConsulHealth(consul.address, transport=counting)
    waiting = asyncio.create_task(reader.instances(_name("stop")))
    await eventually(lambda: _true(len(counting.requests) == 1))
    before = len(asyncio.all_tasks())

    await reader.stop()
    await reader.stop()  # twice is fine

    with pytest.raises(ConsulError, match="stopped"):
        await waiting
    assert len(asyncio.all_tasks()) < before  # the fetch task is gone
    with pytest.raises(ConsulError, match="stopped"):
        await reader.instances("anything")


async def test_services_lists_instances_routes_and_rooms(
    consul: Consul, register: Register
) -> None:
    # The trading contract served by a uniquely named Consul service, so no other suite's
    # mesh client discovers these test instances.
    service = _name("trading")
    trading = next(d for name, d in compiled_services() if name == "trading")
    contracts = Contracts.build([(service, trading)])
    instance = await register(service, "passing")

    async with (
        ConsulHealth(consul.address, cache_seconds=0) as reader,
        _app(reader, [service], contracts) as client,
    ):

        async def listed() -> dict[str, object]:
            doc = (await client.get("/services")).json()["services"][0]
            assert doc["instances"], doc
            return dict(doc)

        doc = await eventually(listed)

    assert doc["name"] == service
    assert doc["status"] == "healthy"
    assert doc["instances"] == [
        {"id": instance, "address": doc["instances"][0]["address"], "status": "passing"}  # type: ignore[index]
    ]
    routes = {(r["method"], r["path"]) for r in doc["routes"]}  # type: ignore[attr-defined]
    assert ("POST", "/api/v1/orders") in routes
    assert ("GET", "/api/v1/orders/stream") in routes
    rooms = {r["room"] for r in doc["rooms"]}  # type: ignore[attr-defined]
    assert "orders:{user_id}" in rooms
