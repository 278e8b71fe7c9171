"""Callers that vanish mid-call leave identity whole: channels closed with hundreds of calls
in flight and tiny deadlines, then reads and writes from this process and another identity
process on the same SQLite file all succeed. Also: maintenance runs in the process."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
from trademesh.identity.v1 import identity_pb2 as pb
from trademesh.identity.v1 import identity_pb2_grpc as pb_grpc

from mesh.discovery import ConsulClient, Instance
from mesh.infra import Consul
from mesh.tls import TlsConfig, channel_options, load_service_credentials
from tests.conftest import eventually
from tests.integration.services._process import ServiceProcess, launch

PASSWORD = "correct horse battery staple"


@pytest_asyncio.fixture(scope="module")
async def two_identities(
    consul: Consul, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[ServiceProcess]]:
    workdir = tmp_path_factory.mktemp("identity-shared")
    env = {
        "TRADEMESH_IDENTITY_SQLITE_PATH": str(workdir / "identity.db"),
        "TRADEMESH_IDENTITY_MAINTENANCE_INTERVAL_SECONDS": "0.5",
        "TRADEMESH_IDENTITY_KEY_ROTATION_INTERVAL_SECONDS": "3",
        # Cheap hashing, so hundreds of sign-ups are in flight at once.
        "TRADEMESH_IDENTITY_PASSWORD_TIME_COST": "1",
        "TRADEMESH_IDENTITY_PASSWORD_MEMORY_KIB": "8",
        "TRADEMESH_IDENTITY_PASSWORD_PARALLELISM": "1",
    }
    started: list[ServiceProcess] = []
    try:
        for _ in range(2):
            started.append(await launch("identity", consul, workdir, env))
        yield started
    finally:
        for service in started:
            await service.stop()


async def _instances(consul: Consul, services: list[ServiceProcess]) -> list[Instance]:
    async with ConsulClient(consul.address) as client:
        _, instances = await client.healthy("identity")
    pids = {str(s.pid) for s in services}
    found = [i for i in instances if i.meta.get("pid") in pids]
    assert len(found) == len(services)
    return found


def _channel(instance: Instance, tls_dir: Path) -> grpc.aio.Channel:
    creds = load_service_credentials(TlsConfig(tls_dir), "edge")
    return grpc.aio.secure_channel(
        instance.address, creds.channel_credentials(), options=channel_options("identity")
    )


def _register(stub: pb_grpc.IdentityServiceStub, tag: str, timeout: float | None = None) -> object:
    return stub.Register(
        pb.RegisterRequest(
            email=f"{tag}-{uuid.uuid4().hex[:10]}@example.com",
            password=PASSWORD,
            display_name="Vanishing",
        ),
        timeout=timeout,
    )


async def test_closed_channels_and_tiny_deadlines_leave_every_instance_usable(
    consul: Consul, two_identities: list[ServiceProcess]
) -> None:
    first, second = await _instances(consul, two_identities)
    tls_dir = two_identities[0].tls_dir

    for round_ in range(3):
        # Hundreds of writes and reads in flight, then the channel goes away under them.
        channel = _channel(first, tls_dir)
        stub = pb_grpc.IdentityServiceStub(channel)
        calls = [_register(stub, f"closed{round_}") for _ in range(150)]
        calls += [
            stub.Login(pb.LoginRequest(email="nobody@example.com", password=PASSWORD))
            for _ in range(100)
        ]
        await asyncio.sleep(0.05 * round_)
        await channel.close(grace=None)
        results = await asyncio.gather(*calls, return_exceptions=True)  # type: ignore[call-overload]
        # Closing a channel cancels its calls; the server sees the caller vanish.
        vanished = (grpc.aio.AioRpcError, asyncio.CancelledError)
        assert sum(isinstance(r, vanished) for r in results) > 100

    async with _channel(first, tls_dir) as channel:
        stub = pb_grpc.IdentityServiceStub(channel)
        tiny = [_register(stub, "tiny", timeout=0.001 * (i % 10 + 1)) for i in range(200)]
        results = await asyncio.gather(*tiny, return_exceptions=True)  # type: ignore[call-overload]
        codes = {r.code() for r in results if isinstance(r, grpc.aio.AioRpcError)}
        assert grpc.StatusCode.DEADLINE_EXCEEDED in codes
        assert grpc.StatusCode.INTERNAL not in codes

    # Both processes share the file: each can still write, and read what the other wrote.
    for writer, reader in ((first, second), (second, first)):
        email = f"after-{uuid.uuid4().hex[:10]}@example.com"
        async with _channel(writer, tls_dir) as w, _channel(reader, tls_dir) as r:
            await pb_grpc.IdentityServiceStub(w).Register(
                pb.RegisterRequest(email=email, password=PASSWORD, display_name="After"),
                timeout=30,
            )
            login = await pb_grpc.IdentityServiceStub(r).Login(
                pb.LoginRequest(email=email, password=PASSWORD), timeout=30
            )
            assert login.tokens.access_token
    for service in two_identities:
        assert "within a transaction" not in service.log()


async def test_keys_rotate_on_schedule_in_the_running_process(
    consul: Consul, two_identities: list[ServiceProcess]
) -> None:
    first, _ = await _instances(consul, two_identities)
    async with _channel(first, two_identities[0].tls_dir) as channel:
        stub = pb_grpc.IdentityServiceStub(channel)
        before = {k.kid for k in (await stub.GetJwks(pb.GetJwksRequest())).keys}

        async def rotated() -> bool:
            now = {k.kid for k in (await stub.GetJwks(pb.GetJwksRequest())).keys}
            # A new key appeared and the old ones are still published.
            return bool(now - before) and before <= now

        await eventually(rotated, timeout=30, what="a scheduled key rotation")
