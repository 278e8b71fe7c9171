"""The real Consul agent: registration, a TCP check that follows its target, discovery."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import consul as consul_client
from mesh.infra import Consul
from tests.conftest import eventually


def _client(agent: Consul) -> consul_client.Consul:
    return consul_client.Consul(host="127.0.0.1", port=agent.config.http_port)


async def _check_status(client: consul_client.Consul, service_id: str) -> str | None:
    checks = await asyncio.to_thread(client.agent.checks)
    for check in checks.values():
        if check.get("ServiceID") == service_id:
            return str(check["Status"])
    return None


async def _serve(port: int) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port)


async def test_agent_is_leader_and_reports_status(consul: Consul) -> None:
    status = await consul.status()
    assert status.healthy, status.detail
    leader = await asyncio.to_thread(_client(consul).status.leader)
    assert leader.startswith("127.0.0.1:")


async def test_check_follows_target_and_health_api_discovers_it(consul: Consul) -> None:
    client = _client(consul)
    name = f"probe-{uuid.uuid4().hex[:8]}"
    service_id = f"{name}-1"
    server = await _serve(0)
    port = server.sockets[0].getsockname()[1]
    check = consul_client.Check.tcp("127.0.0.1", port, interval="1s", timeout="1s")
    registered = await asyncio.to_thread(
        client.agent.service.register,
        name,
        service_id=service_id,
        address="127.0.0.1",
        port=port,
        check=check,
        meta={"metrics_port": "9999"},
    )
    assert registered
    try:

        async def passing() -> bool:
            return await _check_status(client, service_id) == "passing"

        await eventually(passing, what="check passing")

        async def discovered() -> list[dict[str, Any]]:
            # The health API reads the catalog, which the agent syncs shortly after a change.
            _, nodes = await asyncio.to_thread(client.health.service, name, passing=True)
            return list(nodes)

        nodes = await eventually(discovered, what="service discovered as healthy")
        assert [(n["Service"]["ID"], n["Service"]["Port"]) for n in nodes] == [(service_id, port)]
        assert nodes[0]["Service"]["Meta"] == {"metrics_port": "9999"}

        server.close()
        await server.wait_closed()

        async def critical() -> bool:
            return await _check_status(client, service_id) == "critical"

        await eventually(critical, what="check critical after the target went down")

        async def undiscovered() -> bool:
            return not await discovered()

        await eventually(undiscovered, what="service dropped from healthy instances")

        server = await _serve(port)
        await eventually(passing, what="check passing again after the target came back")
    finally:
        server.close()
        assert await asyncio.to_thread(client.agent.service.deregister, service_id)

    async def gone_from_catalog() -> bool:
        _, catalog = await asyncio.to_thread(client.catalog.service, name)
        return catalog == []

    await eventually(gone_from_catalog, what="service gone from the catalog")
