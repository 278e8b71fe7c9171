"""Logout in a real identity process reaches another service through the outbox and Kafka:
that service refuses the session's still-unexpired access token within seconds, while other
sessions keep working."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from google.rpc import error_details_pb2
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from trademesh.identity.v1 import identity_pb2 as id_pb
from trademesh.identity.v1 import identity_pb2_grpc as id_grpc
from trademesh.notification.v1 import notification_pb2 as pb
from trademesh.notification.v1 import notification_pb2_grpc as pb_grpc

from interceptors import bearer_metadata, status_details
from mesh.client import ClientConfig, MeshClient
from mesh.discovery import ConsulClient
from mesh.infra import Consul, Kafka
from mesh.server import MeshServer, ServerConfig, ServiceSpec
from mesh.server.run import RunContext
from mesh.tls import TlsConfig, load_service_credentials
from services.runtime import open_runtime
from tests.conftest import eventually
from tests.integration.mesh.probe_service import probe_spec

PASSWORD = "correct horse battery staple"


@pytest_asyncio.fixture(scope="module")
async def identity(
    consul: Consul, kafka: Kafka, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[asyncio.subprocess.Process]:
    workdir = tmp_path_factory.mktemp("identity-events")
    log_path = workdir / "identity.log"
    env = {
        **os.environ,
        "TRADEMESH_STATE_DIR": str(consul.state_dir),
        "TRADEMESH_SERVER_CONSUL_ADDRESS": consul.address,
        "TRADEMESH_SERVER_CHECK_INTERVAL_SECONDS": "0.5",
        "TRADEMESH_SERVER_SHUTDOWN_DELAY_SECONDS": "0.5",
        "TRADEMESH_IDENTITY_SQLITE_PATH": str(workdir / "identity.db"),
        "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": kafka.address,
    }
    env.pop("DATABASE_URL", None)
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.identity", env=env, stdout=log, stderr=log
        )
    try:
        async with ConsulClient(consul.address) as client:

            async def registered() -> bool:
                assert proc.returncode is None, f"identity exited:\n{log_path.read_text()}"
                _, instances = await client.healthy("identity")
                return any(i.meta.get("pid") == str(proc.pid) for i in instances)

            await eventually(registered, timeout=60, what="identity passing in Consul")
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)


@pytest_asyncio.fixture
async def verifier_service(
    consul: Consul, kafka: Kafka, identity: asyncio.subprocess.Process
) -> AsyncIterator[str]:
    """A service outside identity with the standard token checks (JWKS over the mesh, the
    revocations consumer); returns its mesh name."""
    name = f"probe{uuid.uuid4().hex[:6]}"
    server = ServerConfig(
        consul_address=consul.address,
        tls_dir=consul.state_dir / "tls",
        shutdown_delay_seconds=0.2,
        check_interval_seconds=0.5,
    )
    ctx = RunContext(
        name=name,
        toml={"events": {"bootstrap_servers": kafka.address}},
        server=server,
        registry=CollectorRegistry(),
        tracer_provider=TracerProvider(),
    )
    runtime = await open_runtime(ctx)
    probe = probe_spec("verifier", name=name)
    spec = ServiceSpec(
        name=name,
        servicers=probe.servicers,
        interceptors=runtime.interceptors(),
        workers=runtime.workers,
    )
    async with MeshServer(spec, server):
        yield name


@pytest_asyncio.fixture
async def edge(consul: Consul) -> AsyncIterator[MeshClient]:
    creds = load_service_credentials(TlsConfig(consul.state_dir / "tls"), "edge")
    async with MeshClient(ClientConfig(consul_address=consul.address), credentials=creds) as c:
        yield c


async def _sign_in(stub: id_grpc.IdentityServiceStub) -> id_pb.LoginResponse:
    email = f"u{uuid.uuid4().hex[:8]}@example.com"
    await stub.Register(id_pb.RegisterRequest(email=email, password=PASSWORD, display_name="U"))
    return await stub.Login(id_pb.LoginRequest(email=email, password=PASSWORD))


async def test_logout_reaches_another_service_within_seconds(
    edge: MeshClient, verifier_service: str
) -> None:
    identity = await edge.stub(id_grpc.IdentityServiceStub, "identity")
    leaving = await _sign_in(identity)
    staying = await _sign_in(identity)
    await edge.wait_for_instances(verifier_service, timeout_seconds=20)
    probe = await edge.stub(pb_grpc.NotificationServiceStub, verifier_service)

    async def call(token: str) -> pb.ListNotificationsResponse:
        return await probe.ListNotifications(
            pb.ListNotificationsRequest(), metadata=(bearer_metadata(token),), timeout=5
        )

    async def accepted() -> bool:
        await call(leaving.tokens.access_token)
        return True

    await eventually(accepted, timeout=30, what="the probe accepting the token")

    await identity.Logout(
        id_pb.LogoutRequest(), metadata=(bearer_metadata(leaving.tokens.access_token),)
    )
    logged_out_at = time.monotonic()

    async def refused() -> str:
        try:
            await call(leaving.tokens.access_token)
        except grpc.aio.AioRpcError as exc:
            details = status_details(exc)
            info = details.find(error_details_pb2.ErrorInfo)
            assert details.code == grpc.StatusCode.UNAUTHENTICATED, exc
            assert info is not None
            return info.reason
        return ""

    reason = await eventually(refused, timeout=10, interval=0.1, what="revocation at the probe")
    assert reason == "SESSION_REVOKED"
    print(f"revocation reached the probe {time.monotonic() - logged_out_at:.2f}s after logout")
    # The token itself is still unexpired: only the revocation refuses it.
    assert leaving.tokens.access_token_expire_time.ToSeconds() > time.time()
    assert (await call(staying.tokens.access_token)).notifications[0].title == "verifier"
