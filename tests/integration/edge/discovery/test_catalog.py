"""The contract catalog against the real Consul and mTLS mesh servers: a service defined
only in this test shows up in the edge's contracts by reflection, and so does a method added
to it, without restarting the catalog."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from edge.discovery import ContractCatalog, DiscoveryConfig
from mesh.client import ClientConfig, MeshClient
from mesh.discovery import ConsulClient, Registration
from mesh.infra import Consul
from mesh.lifecycle import Lifecycle
from mesh.options import AccessRule
from mesh.server import MeshServer, ServerConfig, Servicer, ServiceSpec
from mesh.tls import TlsConfig, load_service_credentials
from tests.conftest import eventually
from tests.integration.mesh.probe_service import probe_spec
from tests.unit.edge.discovery._probe import (
    GET_PROBE,
    LIST_PROBES,
    SERVICE,
    V1,
    install_probe,
    private_pool,
    probe_file,
    probe_handler,
    reflection_handler,
)

NOTIFICATIONS = "trademesh.notification.v1.NotificationService"
LIST_NOTIFICATIONS = f"/{NOTIFICATIONS}/ListNotifications"
TIMEOUT = 15.0


@pytest.fixture
def tls_dir(consul: Consul) -> Path:
    return consul.state_dir / "tls"


@pytest.fixture
def server_config(consul: Consul, tls_dir: Path) -> ServerConfig:
    return ServerConfig(
        consul_address=consul.address,
        tls_dir=tls_dir,
        shutdown_delay_seconds=0.1,
        grace_seconds=1.0,
        check_interval_seconds=0.5,
    )


@pytest.fixture
async def mesh(consul: Consul, tls_dir: Path) -> AsyncIterator[MeshClient]:
    config = ClientConfig(consul_address=consul.address, discovery_wait_seconds=5)
    credentials = load_service_credentials(TlsConfig(tls_dir), "edge")
    async with MeshClient(config, credentials=credentials) as client:
        yield client


def _catalog(mesh: MeshClient, consul: Consul, refresh_seconds: float) -> ContractCatalog:
    config = DiscoveryConfig(
        refresh_seconds=refresh_seconds, fetch_timeout_seconds=3, consul_wait_seconds=5
    )
    return ContractCatalog(mesh, config, consul_address=consul.address)


def _probe_server(name: str, config: ServerConfig, add: Any) -> MeshServer:
    """A mesh server named `name` whose only servicer is what `add(server)` installs."""
    servicer = Servicer(lambda _, server: add(server), None, SERVICE)
    return MeshServer(ServiceSpec(name=name, servicers=[servicer]), config)


class SwappableReflection:
    """Reflection over whichever servicer is current, so one running instance can change
    its contract without Consul noticing."""

    def __init__(self, *methods: str) -> None:
        self.swap(*methods)

    def swap(self, *methods: str) -> None:
        self.current = reflection.aio.ReflectionServicer(
            [SERVICE], pool=private_pool(probe_file(*methods))
        )

    async def ServerReflectionInfo(self, requests: Any, context: Any) -> AsyncIterator[Any]:
        async for response in self.current.ServerReflectionInfo(requests, context):
            yield response


def _methods(catalog: ContractCatalog, service: str) -> set[str]:
    return {m.descriptor.name for m in catalog.current if m.service == service}


async def test_a_new_service_and_then_its_new_method_appear_on_consul_changes(
    consul: Consul, server_config: ServerConfig, mesh: MeshClient
) -> None:
    name = f"probe{uuid.uuid4().hex[:6]}"
    one = private_pool(probe_file(GET_PROBE))
    two = private_pool(probe_file(GET_PROBE, LIST_PROBES))
    # The timer is far off: only Consul's changes can bring the contracts in.
    async with _catalog(mesh, consul, refresh_seconds=600) as catalog:
        heard: list[int] = []
        catalog.subscribe(lambda contracts: heard.append(len(contracts)))
        async with _probe_server(name, server_config, lambda s: install_probe(s, one, "one")):

            async def served() -> bool:
                return _methods(catalog, name) == {GET_PROBE}

            await eventually(served, timeout=TIMEOUT, what="the probe's contract")
            method = catalog.current.find(f"/{SERVICE}/{GET_PROBE}")
            assert method is not None
            assert method.access == AccessRule(public=True)
            assert [r.get for r in method.http_rules] == ["/api/v1/probe/{name}"]
            assert catalog.current.find(LIST_NOTIFICATIONS) is not None

            # The edge can call what it learnt, over the mesh's mTLS.
            channel = await mesh.connect(name)
            call = channel.unary_unary(
                method.full_method,
                request_serializer=method.request_class.SerializeToString,
                response_deserializer=method.response_class.FromString,
            )
            reply = await call(method.request_class(name="x"), timeout=5)
            assert reply.echo == "one:GetProbe:x"

        async with _probe_server(name, server_config, lambda s: install_probe(s, two, "two")):

            async def both() -> bool:
                return _methods(catalog, name) == {GET_PROBE, LIST_PROBES}

            await eventually(both, timeout=TIMEOUT, what="the added method")
            listing = catalog.current.find(f"/{SERVICE}/{LIST_PROBES}")
            assert listing is not None and listing.success_code == 202
        assert heard and heard[-1] == len(catalog.current)


async def test_a_contract_changed_behind_a_steady_instance_is_found_by_the_timer(
    consul: Consul, server_config: ServerConfig, mesh: MeshClient
) -> None:
    name = f"probe{uuid.uuid4().hex[:6]}"
    swappable = SwappableReflection(GET_PROBE)

    def add(server: grpc.aio.Server) -> None:
        pool = private_pool(probe_file(GET_PROBE, LIST_PROBES))
        server.add_generic_rpc_handlers(
            (probe_handler(pool, "p"), reflection_handler(swappable, V1))
        )

    async with (
        _probe_server(name, server_config, add),
        _catalog(mesh, consul, refresh_seconds=1) as catalog,
    ):

        async def served() -> bool:
            return _methods(catalog, name) == {GET_PROBE}

        await eventually(served, timeout=TIMEOUT, what="the probe's contract")
        swappable.swap(GET_PROBE, LIST_PROBES)

        async def both() -> bool:
            return _methods(catalog, name) == {GET_PROBE, LIST_PROBES}

        await eventually(both, timeout=TIMEOUT, what="the method added behind Consul's back")


async def test_a_service_reflecting_its_compiled_contract_is_read_and_changes_nothing(
    consul: Consul, server_config: ServerConfig, mesh: MeshClient
) -> None:
    # The mesh server's own reflection: v1alpha over the default pool, so v1 is refused first.
    async with (
        MeshServer(probe_spec("a"), server_config),
        _catalog(mesh, consul, refresh_seconds=600) as catalog,
    ):
        before = catalog.current
        heard: list[object] = []
        catalog.subscribe(heard.append)

        async def read() -> bool:
            return "notification" in catalog.reflected

        await eventually(read, timeout=TIMEOUT, what="notification's reflection read")
        services = [s.full_name for s in catalog.reflected["notification"].services]
        assert services == [NOTIFICATIONS]
        assert catalog.problems == {}
        assert catalog.current is before
        assert heard == []


class _HealthOnly(Lifecycle):
    """A service registered in Consul as `notification` with a passing gRPC health check over
    mTLS, but no reflection: up for Consul, unreadable for the catalog."""

    def __init__(self, consul: Consul, tls_dir: Path) -> None:
        self._consul_address = consul.address
        self._tls_dir = tls_dir
        self.instance_id = f"notification-down-{uuid.uuid4().hex[:6]}"
        self._server = grpc.aio.server()

    async def start(self) -> None:
        servicer = health.aio.HealthServicer()
        await servicer.set("notification", health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(servicer, self._server)
        credentials = load_service_credentials(TlsConfig(self._tls_dir), "notification")
        port = self._server.add_secure_port("127.0.0.1:0", credentials.server_credentials())
        await self._server.start()
        async with ConsulClient(self._consul_address) as client:
            await client.register(
                Registration(
                    "notification", self.instance_id, "127.0.0.1", port, check_interval_seconds=0.5
                )
            )

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            async with ConsulClient(self._consul_address) as client:
                await client.deregister(self.instance_id)
        await self._server.stop(None)


async def test_a_registered_service_without_reflection_keeps_its_compiled_contract(
    consul: Consul, tls_dir: Path, mesh: MeshClient
) -> None:
    async with (
        _HealthOnly(consul, tls_dir),
        _catalog(mesh, consul, refresh_seconds=600) as catalog,
    ):
        compiled = _methods(catalog, "notification")

        async def refused() -> str:
            return catalog.problems.get("notification", "")

        problem = await eventually(refused, timeout=TIMEOUT, what="the fetch refused")
        assert "UNIMPLEMENTED" in problem
        assert _methods(catalog, "notification") == compiled
        assert catalog.current.find(LIST_NOTIFICATIONS) is not None
