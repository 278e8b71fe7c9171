"""`trademesh infra up | status | down` as a user runs it: a separate process, real components."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from pathlib import Path

import pytest

from mesh.infra.ports import free_ports


def _env(state: Path, **extra: str) -> dict[str, str]:
    consul_http, serf, server, kafka, controller, nginx = free_ports(6)
    return {
        **os.environ,
        "TRADEMESH_STATE_DIR": str(state),
        "TRADEMESH_CONSUL_HTTP_PORT": str(consul_http),
        "TRADEMESH_CONSUL_SERF_LAN_PORT": str(serf),
        "TRADEMESH_CONSUL_SERVER_PORT": str(server),
        "TRADEMESH_KAFKA_PORT": str(kafka),
        "TRADEMESH_KAFKA_CONTROLLER_PORT": str(controller),
        "TRADEMESH_NGINX_PORT": str(nginx),
        **extra,
    }


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mesh.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=180)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_up_status_down_of_the_whole_infrastructure(tmp_path: Path) -> None:
    env = _env(tmp_path)
    try:
        code, out = await _cli(env, "infra", "up")
        assert code == 0, out
        for name in ("consul", "kafka", "nginx"):
            assert f"✓ {name}" in out and "started" in out
        assert f"127.0.0.1:{env['TRADEMESH_KAFKA_PORT']}" in out

        code, out = await _cli(env, "infra", "up")  # starting twice is harmless
        assert code == 0, out
        assert out.count("running") >= 3

        code, out = await _cli(env, "infra", "status")
        assert code == 0, out
        assert out.count("healthy") == 3
        assert f"http://127.0.0.1:{env['TRADEMESH_CONSUL_HTTP_PORT']}" in out
    finally:
        code, out = await _cli(env, "infra", "down")
    assert code == 0, out
    assert out.count("stopped") == 3
    assert not list(tmp_path.glob("*/*.pid"))

    code, out = await _cli(env, "infra", "status")
    assert code == 3
    assert out.count("stopped") == 3


async def test_port_held_by_another_process_is_reported(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        env = _env(tmp_path, TRADEMESH_NGINX_PORT=str(port))
        code, out = await _cli(env, "infra", "up", "--only", "nginx")
    assert code == 1
    assert f"nginx: port {port} on 127.0.0.1 is already in use" in out
    assert not (tmp_path / "nginx" / "supervisor.pid").exists()


async def test_child_crashing_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    env = _env(tmp_path, TRADEMESH_CONSUL_DATACENTER="not a valid dc!")
    code, out = await _cli(env, "infra", "up", "--only", "consul")
    assert code == 1
    assert "consul did not start: process exited during start" in out
    assert str(tmp_path / "consul" / "consul.log") in out
    assert "datacenter" in out.lower()  # the agent's own complaint, from its log
    assert not (tmp_path / "consul" / "consul.pid").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["infra", "up", "--only", "zookeeper"], "unknown name(s) ['zookeeper']"),
        (["provision", "--only", "docker"], "unknown name(s) ['docker']"),
    ],
)
async def test_bad_flags_are_rejected_clearly(
    tmp_path: Path, args: list[str], message: str
) -> None:
    code, out = await _cli(_env(tmp_path), *args)
    assert code == 2
    assert message in out


async def test_bad_config_value_names_the_key(tmp_path: Path) -> None:
    code, out = await _cli(_env(tmp_path, TRADEMESH_KAFKA_PORT="ninety"), "infra", "status")
    assert code == 1
    assert "TRADEMESH_KAFKA_PORT" in out and "ninety" in out


async def test_up_starts_identity_registered_in_consul_and_down_stops_it(tmp_path: Path) -> None:
    grpc_port, metrics_port = free_ports(2)
    env = _env(
        tmp_path,
        TRADEMESH_SERVICES_GRPC_BASE_PORT=str(grpc_port - 1),
        TRADEMESH_SERVICES_METRICS_BASE_PORT=str(metrics_port - 1),
    )
    try:
        code, out = await _cli(env, "up", "--only", "consul,identity")
        assert code == 0, out
        assert re.search(rf"identity +started +127\.0\.0\.1:{grpc_port}\b", out), out

        code, out = await _cli(env, "status", "--only", "consul,identity")
        assert code == 0, out
        assert out.count("healthy") == 2
        assert f"127.0.0.1:{grpc_port}" in out

        code, out = await _cli(env, "grpcurl", "identity", "list")
        assert code == 0, out
        assert "trademesh.identity.v1.IdentityService" in out.split()
    finally:
        code, out = await _cli(env, "down", "--only", "consul,identity")
    assert code == 0, out
    assert re.search(r"identity +stopped", out), out
    assert (tmp_path / "services" / "identity.log").read_text().count("shutting down") == 1
