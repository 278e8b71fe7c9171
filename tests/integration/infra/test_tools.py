"""The pinned buf and grpcurl binaries run, and grpcurl talks to a real grpc.aio server."""

from __future__ import annotations

import asyncio
import json

from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from mesh.infra import versions
from mesh.infra.provision import tools


async def _run(*argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_buf_is_the_pinned_version() -> None:
    code, out = await _run(str(tools.buf_binary()), "--version")
    assert code == 0
    assert out.strip() == versions.BUF


async def test_grpcurl_lists_and_calls_a_real_server_through_reflection() -> None:
    code, out = await _run(str(tools.grpcurl_binary()), "-version")
    assert code == 0
    assert f"v{versions.GRPCURL}" in out

    server = aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    names = (health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await servicer.set("probe.v1.Probe", health_pb2.HealthCheckResponse.SERVING)
    try:
        target = f"127.0.0.1:{port}"
        code, out = await _run(str(tools.grpcurl_binary()), "-plaintext", target, "list")
        assert code == 0, out
        assert "grpc.health.v1.Health" in out.split()

        code, out = await _run(
            str(tools.grpcurl_binary()),
            "-plaintext",
            "-d",
            '{"service": "probe.v1.Probe"}',
            target,
            "grpc.health.v1.Health/Check",
        )
        assert code == 0, out
        assert json.loads(out) == {"status": "SERVING"}
    finally:
        await server.stop(None)
