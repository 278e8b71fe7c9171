"""EdgeAuth against the real thing: a real identity process in the real Consul signs in a
user over gRPC; the edge verifies the access token with identity's JWKS fetched over the
mesh, answers repeats from its cache, and refuses the token once logout's revocation has
come through Kafka to RevokedSessions, as the services do."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from trademesh.identity.v1 import identity_pb2 as id_pb
from trademesh.identity.v1 import identity_pb2_grpc as id_grpc

from edge.auth import EdgeAuth
from edge.errors import EdgeError
from interceptors import bearer_metadata
from mesh.client import ClientConfig, MeshClient
from mesh.events import SESSIONS, Consumer, EventsConfig
from mesh.infra import Consul, Kafka
from mesh.tls import TlsConfig, load_service_credentials
from mesh.tokens import AsyncTokenVerifier, Claims, TokenConfig
from mesh.tokens.remote import identity_verifier
from mesh.tokens.revocations import RevokedSessions
from tests.conftest import eventually
from tests.integration.services._process import ServiceProcess, running_service
from tests.unit.edge.auth.conftest import reason_of

PASSWORD = "correct horse battery staple"


class CountingVerifier:
    """identity_verifier as the edge builds it, counting the verifications it does."""

    def __init__(self, inner: AsyncTokenVerifier) -> None:
        self.inner = inner
        self.calls = 0

    async def verify_access(self, token: str) -> Claims:
        self.calls += 1
        return await self.inner.verify_access(token)


@dataclass
class Edge:
    mesh: MeshClient
    auth: EdgeAuth
    verifier: CountingVerifier
    revoked: RevokedSessions

    async def identity(self) -> id_grpc.IdentityServiceAsyncStub:
        channel: Any = await self.mesh.connect("identity")  # a grpc.aio.Channel
        stub: id_grpc.IdentityServiceAsyncStub = id_grpc.IdentityServiceStub(channel)
        return stub


@pytest_asyncio.fixture(scope="module")
async def identity(
    consul: Consul, kafka: Kafka, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceProcess]:
    workdir = tmp_path_factory.mktemp("edge-auth")
    env = {
        "TRADEMESH_IDENTITY_SQLITE_PATH": str(workdir / "identity.db"),
        "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": kafka.address,
    }
    async with running_service("identity", consul, workdir, env) as running:
        yield running


@pytest_asyncio.fixture
async def edge(consul: Consul, kafka: Kafka, identity: ServiceProcess) -> AsyncIterator[Edge]:
    credentials = load_service_credentials(TlsConfig(identity.tls_dir), "edge")
    mesh = MeshClient(ClientConfig(consul_address=consul.address), credentials=credentials)
    revoked = RevokedSessions()
    events = EventsConfig(bootstrap_servers=kafka.address, client_id=f"edge-{uuid.uuid4().hex[:6]}")
    revocations = Consumer(events, None, [SESSIONS], revoked)
    verifier = CountingVerifier(identity_verifier(mesh, TokenConfig()))
    auth = EdgeAuth(verifier, revoked.is_revoked, revocations=revoked)
    async with mesh, revocations, auth:
        yield Edge(mesh, auth, verifier, revoked)


async def _sign_in(stub: id_grpc.IdentityServiceAsyncStub) -> id_pb.LoginResponse:
    email = f"u{uuid.uuid4().hex[:8]}@example.com"
    await stub.Register(id_pb.RegisterRequest(email=email, password=PASSWORD, display_name="U"))
    return await stub.Login(id_pb.LoginRequest(email=email, password=PASSWORD))


async def _refusal(auth: EdgeAuth, authorization: str) -> tuple[int, str, dict[str, str]]:
    try:
        await auth.authenticate(authorization)
    except EdgeError as error:
        return reason_of(error)
    raise AssertionError("the token was accepted")


async def test_a_signed_in_user_is_verified_once_then_served_from_the_cache(edge: Edge) -> None:
    login = await _sign_in(await edge.identity())
    header = f"Bearer {login.tokens.access_token}"
    principal = await edge.auth.authenticate(header)
    assert principal is not None
    assert principal.user_id == login.user.user_id
    assert principal.roles  # identity grants every new user a role
    assert principal.token == login.tokens.access_token
    for _ in range(10):
        assert await edge.auth.authenticate(header) == principal
    assert edge.verifier.calls == 1


async def test_a_forged_token_is_refused_with_identity_s_real_keys(edge: Edge) -> None:
    login = await _sign_in(await edge.identity())
    head, payload, signature = login.tokens.access_token.split(".")
    forged = f"{head}.{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert await _refusal(edge.auth, f"Bearer {forged}") == (
        401,
        "TOKEN_INVALID",
        {"token_error": "bad_signature"},
    )


async def test_logout_is_refused_at_the_edge_once_the_revocation_arrives(edge: Edge) -> None:
    stub = await edge.identity()
    leaving = await _sign_in(stub)
    staying = await _sign_in(stub)
    assert await edge.auth.authenticate(f"Bearer {leaving.tokens.access_token}") is not None
    assert await edge.auth.authenticate(f"Bearer {staying.tokens.access_token}") is not None
    assert edge.auth.cached_tokens >= 2
    cached_before = edge.auth.cached_tokens

    await stub.Logout(
        id_pb.LogoutRequest(), metadata=(bearer_metadata(leaving.tokens.access_token),)
    )

    async def forgotten() -> bool:
        # Told by the subscription as the record arrives, before any request asks.
        return edge.auth.cached_tokens == cached_before - 1

    await eventually(forgotten, timeout=30, interval=0.1, what="the revocation at the edge")
    assert await _refusal(edge.auth, f"Bearer {leaving.tokens.access_token}") == (
        401,
        "SESSION_REVOKED",
        {},
    )
    # The token itself is unexpired: only the revocation refuses it.
    assert leaving.tokens.access_token_expire_time.ToSeconds() > time.time()
    calls = edge.verifier.calls
    assert await edge.auth.authenticate(f"Bearer {staying.tokens.access_token}") is not None
    assert edge.verifier.calls == calls  # the other session is still served from the cache
