"""What the service tests share: access tokens signed the way identity signs them and verified
the way every service verifies them, mesh certificates from a CA made for the test, and
servicers on a real grpc.aio server on loopback behind the real server interceptor chain."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from prometheus_client import CollectorRegistry

from interceptors import (
    AccessTokenVerifier,
    RevocationCheck,
    ServerInterceptorConfig,
    bearer_metadata,
    server_interceptors,
)
from mesh.server.spec import AddToServer, Servicer
from mesh.tls import ServiceCredentials, TlsConfig, load_service_credentials
from mesh.tokens import AsyncTokenVerifier, JwksCache, KeyRing, TokenConfig, TokenIssuer

Metadata = tuple[tuple[str, str], ...]


def token_config() -> TokenConfig:
    return TokenConfig(issuer="https://identity.trademesh.test", audience="trademesh")


@dataclass(frozen=True)
class Signer:
    """Signs access tokens the way identity does; its verifier reads the JWKS of the same key
    ring, as each service reads identity's GetJwks in production."""

    config: TokenConfig
    ring: KeyRing
    issuer: TokenIssuer = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "issuer", TokenIssuer(self.config, self.ring))

    @classmethod
    def generate(cls, config: TokenConfig | None = None) -> Signer:
        config = config or token_config()
        return cls(config, KeyRing.generate(retention_seconds=config.key_retention_seconds))

    def access(self, user_id: str, roles: Sequence[str], *, session_id: str | None = None) -> str:
        return self.issuer.issue_access(
            subject=user_id, session_id=session_id or str(uuid.uuid4()), roles=tuple(roles)
        ).token

    def verifier(self) -> AsyncTokenVerifier:
        async def jwks() -> dict[str, Any]:
            return self.ring.jwks()

        return AsyncTokenVerifier(JwksCache(jwks), self.config)


def bearer(token: str) -> Metadata:
    return (bearer_metadata(token),)


def certificates(state_dir: Path, names: Iterable[str]) -> dict[str, ServiceCredentials]:
    """Mesh certificates for `names` (services or callers such as "edge"), issued by a CA
    created under `state_dir` for the test."""
    tls = TlsConfig.for_state_dir(state_dir)
    return {name: load_service_credentials(tls, name) for name in names}


def servicer(add_to_server: AddToServer, implementation: Any) -> Servicer:
    """A stand-in servicer in the shape of a ServiceSpec's."""
    return Servicer(add_to_server, implementation, type(implementation).__name__)


@dataclass(frozen=True)
class Listening:
    address: str  # plaintext, "" when not asked for
    secure_address: str  # mTLS, "" when not asked for


@asynccontextmanager
async def listening(
    servicers: Sequence[Servicer],
    *,
    service_name: str,
    verifier: AccessTokenVerifier | None,
    is_revoked: RevocationCheck | None = None,
    plaintext: bool = True,
    credentials: ServiceCredentials | None = None,
    grace: float | None = None,
) -> AsyncIterator[Listening]:
    """`servicers` on a grpc.aio server on 127.0.0.1:0 behind the real server interceptor
    chain, in plaintext and/or over mTLS with `credentials`; stopped with `grace` on exit."""
    chain = server_interceptors(
        ServerInterceptorConfig(
            service_name=service_name,
            verifier=verifier,
            is_revoked=is_revoked,
            registry=CollectorRegistry(),
        )
    )
    server = grpc.aio.server(interceptors=chain)
    for each in servicers:
        each.add_to_server(each.implementation, server)
    address = secure_address = ""
    if plaintext:
        address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    if credentials is not None:
        port = server.add_secure_port("127.0.0.1:0", credentials.server_credentials())
        secure_address = f"127.0.0.1:{port}"
    await server.start()
    try:
        yield Listening(address, secure_address)
    finally:
        await server.stop(grace)
