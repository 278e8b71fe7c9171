"""Graceful drain of a real service process: `python -m services.marketdata`, mTLS, registered
in a real Consul of this module's own (so that the mesh client can only pick this instance),
called through the mesh client. On SIGTERM an open server stream ends with the draining
status well within the grace period, after the instance left Consul, and the process exits 0.

The stream is the gRPC health Watch every mesh server serves behind the same interceptor
chain as the service's own streams; it needs no user token, so no identity process runs.
Kafka is not needed either: the bootstrap address points at a closed port.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.client import ClientConfig, MeshClient
from mesh.discovery import ConsulClient
from mesh.errors.draining import is_draining
from mesh.infra import Consul, ConsulConfig
from mesh.infra.ports import free_ports
from mesh.tls import TlsConfig, load_service_credentials
from tests.integration.services._process import launch

GRACE_SECONDS = 60.0  # far longer than the test may take: the stream must end before it


@pytest_asyncio.fixture(scope="module")
async def own_consul(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Consul]:
    http, serf, server = free_ports(3)
    component = Consul(
        ConsulConfig(http_port=http, serf_lan_port=serf, server_port=server),
        tmp_path_factory.mktemp("drain-consul"),
    )
    async with component:
        yield component


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


async def test_sigterm_ends_a_stream_with_the_draining_status_and_leaves_consul(
    own_consul: Consul, tmp_path: Path
) -> None:
    env = {
        "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": _closed_port(),
        "TRADEMESH_EVENTS_REQUEST_TIMEOUT_SECONDS": "2",
        "TRADEMESH_MARKETDATA_PUBLISH_QUOTES": "false",
        "TRADEMESH_MARKETDATA_SYMBOLS": "AAPL",
        "TRADEMESH_SERVER_GRACE_SECONDS": str(GRACE_SECONDS),
    }
    process = await launch("marketdata", own_consul, tmp_path, env)
    try:
        credentials = load_service_credentials(TlsConfig(own_consul.state_dir / "tls"), "edge")
        config = ClientConfig(consul_address=own_consul.address)
        async with (
            MeshClient(config, credentials=credentials) as mesh,
            ConsulClient(own_consul.address) as consul,
        ):
            (instance,) = await mesh.wait_for_instances("marketdata")
            assert instance.meta["pid"] == str(process.pid)
            channel: Any = await mesh.connect("marketdata")
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service="marketdata")
            )
            first = await asyncio.wait_for(watch.read(), 30)
            assert first.status == health_pb2.HealthCheckResponse.SERVING

            process.proc.send_signal(signal.SIGTERM)
            statuses = []
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                async with asyncio.timeout(GRACE_SECONDS / 2):
                    while (message := await watch.read()) is not grpc.aio.EOF:
                        statuses.append(message.status)
            # The instance had left Consul by the time its streams were ended.
            _, passing = await consul.healthy("marketdata")
            assert passing == [], process.log()
            assert await consul.check_status(instance.instance_id) is None

        error = raised.value
        assert error.code() == grpc.StatusCode.UNAVAILABLE, error
        assert is_draining(error), error
        assert "marketdata instance is draining" in (error.details() or "")
        assert statuses == [health_pb2.HealthCheckResponse.NOT_SERVING]  # first, NOT_SERVING
        # A second SIGTERM would kill it: wait for the exit the first one started.
        assert await asyncio.wait_for(process.proc.wait(), GRACE_SECONDS) == 0, process.log()
        assert "marketdata: draining, ended 1 open streams" in process.log()
    finally:
        if process.proc.returncode is None:
            await process.stop(signal.SIGKILL)
