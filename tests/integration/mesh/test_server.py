"""MeshServer against the real Consul: mTLS, gRPC health check, metrics, ordered shutdown."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from trademesh.notification.v1 import notification_pb2 as pb
from trademesh.notification.v1 import notification_pb2_grpc as pb_grpc

from mesh.discovery import ConsulClient
from mesh.infra import Consul
from mesh.server import MeshServer, ServerConfig
from mesh.tls import channel_options
from tests.conftest import eventually
from tests.integration.mesh.conftest import credentials
from tests.integration.mesh.probe_service import probe_spec


def _secure(server: MeshServer, tls_dir: Path, caller: str = "edge") -> grpc.aio.Channel:
    creds = credentials(tls_dir, caller).channel_credentials()
    return grpc.aio.secure_channel(server.address, creds, options=channel_options(server.spec.name))


async def _health(channel: grpc.aio.Channel, service: str) -> int:
    resp = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service), timeout=2
    )
    return int(resp.status)


async def test_registers_with_passing_mtls_grpc_check_and_metrics_port(
    consul: Consul, server_config: ServerConfig, tls_dir: Path
) -> None:
    name = f"probe{uuid.uuid4().hex[:6]}"
    async with (
        MeshServer(probe_spec("a", name=name), server_config) as server,
        ConsulClient(consul.address) as client,
    ):

        async def passing() -> bool:
            return await client.check_status(server.instance_id) == "passing"

        await eventually(passing, what="Consul's gRPC health check over mTLS passing")
        _, instances = await client.healthy(name)
        assert [(i.instance_id, i.port) for i in instances] == [(server.instance_id, server.port)]
        assert instances[0].meta["metrics_port"] == str(server.metrics_port)

        async with _secure(server, tls_dir) as channel:
            reply = await pb_grpc.NotificationServiceStub(channel).ListNotifications(
                pb.ListNotificationsRequest(), timeout=5
            )
            assert reply.notifications[0].title == "a"
        async with httpx.AsyncClient() as http:
            metrics = await http.get(f"http://127.0.0.1:{server.metrics_port}/metrics")
        assert metrics.status_code == 200
        assert "python_info" in metrics.text or "process_" in metrics.text


async def test_client_without_mesh_certificate_is_rejected(
    server_config: ServerConfig, tls_dir: Path
) -> None:
    async with MeshServer(
        probe_spec("a"), ServerConfig(**{**server_config.__dict__, "register": False})
    ) as server:
        root = credentials(tls_dir, "edge").root_certificates_pem
        no_cert = grpc.ssl_channel_credentials(root_certificates=root)
        async with grpc.aio.secure_channel(
            server.address, no_cert, options=channel_options("notification")
        ) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await _health(channel, "")
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_shutdown_reports_not_serving_deregisters_and_drains(
    consul: Consul, server_config: ServerConfig, tls_dir: Path
) -> None:
    name = f"probe{uuid.uuid4().hex[:6]}"
    config = ServerConfig(**{**server_config.__dict__, "shutdown_delay_seconds": 3.0})
    server = MeshServer(probe_spec("a", name=name), config)
    await server.start()
    client = ConsulClient(consul.address)
    channel = _secure(server, tls_dir)
    try:
        stub = pb_grpc.NotificationServiceStub(channel)
        in_flight = asyncio.ensure_future(
            stub.ListNotifications(pb.ListNotificationsRequest(page_token="slow:4"), timeout=10)
        )
        await asyncio.sleep(0.2)
        stopping = asyncio.create_task(server.stop())

        async def not_serving() -> bool:
            return await _health(channel, name) == health_pb2.HealthCheckResponse.NOT_SERVING

        await eventually(not_serving, timeout=2.5, interval=0.05, what="NOT_SERVING")

        async def deregistered() -> bool:
            _, instances = await client.healthy(name)
            return await client.check_status(server.instance_id) is None and not instances

        await eventually(deregistered, timeout=10, interval=0.05, what="deregistered")
        reply = await in_flight
        assert reply.notifications[0].title == "a"
        await stopping
    finally:
        await channel.close()
        await client.close()
        await server.stop()


async def test_sigterm_stops_a_server_process_in_order(
    consul: Consul, tls_dir: Path, tmp_path: Path
) -> None:
    port_file = tmp_path / "port"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.mesh.probe_service",
        consul.address,
        str(tls_dir),
        str(port_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    client = ConsulClient(consul.address)
    try:

        async def started() -> bool:
            return port_file.exists() and bool(port_file.read_text().strip())

        await eventually(started, what="subprocess server started")
        _, instance_id = port_file.read_text().split()

        async def passing() -> bool:
            return await client.check_status(instance_id) == "passing"

        await eventually(passing, what="subprocess instance passing in Consul")
        proc.terminate()
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
        assert proc.returncode == 0, out.decode()
        assert await client.check_status(instance_id) is None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await client.close()
