"""MeshClient against the real Consul and real servers: discovery, round robin, deadlines."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2
from trademesh.notification.v1 import notification_pb2 as pb
from trademesh.notification.v1 import notification_pb2_grpc as pb_grpc

from mesh.client import ClientConfig, MeshClient
from mesh.discovery import ConsulClient
from mesh.infra import Consul
from mesh.server import MeshServer, ServerConfig
from tests.conftest import eventually
from tests.integration.mesh.conftest import credentials
from tests.integration.mesh.probe_service import probe_spec


def _client(consul: Consul, tls_dir: Path, **kw: float) -> MeshClient:
    config = ClientConfig(consul_address=consul.address, discovery_wait_seconds=5, **kw)
    return MeshClient(config, credentials=credentials(tls_dir, "edge"))


async def test_balances_over_healthy_instances_and_follows_changes(
    consul: Consul, server_config: ServerConfig, tls_dir: Path
) -> None:
    name = f"probe{uuid.uuid4().hex[:6]}"
    first = MeshServer(probe_spec("first", name=name), server_config)
    second = MeshServer(probe_spec("second", name=name), server_config)
    await first.start()
    await second.start()
    async with _client(consul, tls_dir) as mesh:
        try:
            await mesh.wait_for_instances(name, count=2, timeout_seconds=20)
            stub = await mesh.stub(pb_grpc.NotificationServiceStub, name)
            seen = Counter()
            for _ in range(10):
                reply = await stub.ListNotifications(pb.ListNotificationsRequest())
                seen[reply.notifications[0].title] += 1
            assert seen == {"first": 5, "second": 5}

            await second.stop()

            async def only_first() -> bool:
                return [i.port for i in mesh.instances(name)] == [first.port]

            await eventually(only_first, what="client dropped the stopped instance")
            titles = {
                (await stub.ListNotifications(pb.ListNotificationsRequest())).notifications[0].title
                for _ in range(4)
            }
            assert titles == {"first"}

            await first.stop()

            async def none_left() -> bool:
                return mesh.instances(name) == []

            await eventually(none_left, what="no instances left")
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.ListNotifications(pb.ListNotificationsRequest())
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
            assert f"no healthy instance of '{name}'" in (info.value.details() or "")
        finally:
            await first.stop()
            await second.stop()


async def test_unary_calls_get_the_default_deadline(
    consul: Consul, server_config: ServerConfig, tls_dir: Path
) -> None:
    name = f"probe{uuid.uuid4().hex[:6]}"
    async with (
        MeshServer(probe_spec("slow", name=name), server_config),
        _client(consul, tls_dir, default_timeout_seconds=0.3) as mesh,
    ):
        await mesh.wait_for_instances(name, timeout_seconds=20)
        stub = await mesh.stub(pb_grpc.NotificationServiceStub, name)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.ListNotifications(pb.ListNotificationsRequest(page_token="slow:2"))
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        reply = await stub.ListNotifications(
            pb.ListNotificationsRequest(page_token="slow:0.05"), timeout=5
        )
        assert reply.notifications[0].title == "slow"


async def test_registered_instances_are_called_when_none_passes_its_checks(
    consul: Consul, server_config: ServerConfig, tls_dir: Path
) -> None:
    """A check that fails while the instance still serves (a busy host, a check timing out)
    leaves calls going to it rather than nowhere; deregistering ends that."""
    name = f"probe{uuid.uuid4().hex[:6]}"
    server = MeshServer(probe_spec("only", name=name), server_config)
    await server.start()
    async with _client(consul, tls_dir) as mesh, ConsulClient(consul.address) as catalog:
        try:
            await mesh.wait_for_instances(name, timeout_seconds=20)
            stub = await mesh.stub(pb_grpc.NotificationServiceStub, name)
            # Consul's check asks for the service's own name: only that goes NOT_SERVING.
            await server._health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)

            async def failing() -> bool:
                _, passing, failing = await catalog.registered(name)
                return not passing and len(failing) == 1

            await eventually(failing, what="the instance registered but failing its check")
            reply = await stub.ListNotifications(pb.ListNotificationsRequest())
            assert reply.notifications[0].title == "only"
            assert [i.port for i in mesh.instances(name)] == [server.port]
        finally:
            await server.stop()

        async def gone() -> bool:
            return mesh.instances(name) == []

        await eventually(gone, what="a deregistered instance dropped for good")
