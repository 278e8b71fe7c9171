"""What every service that calls others stands on, assembled once for all their entry points:
the mesh client, the event bus settings, and user-token checks (identity's JWKS over the mesh,
sessions revoked on `identity.sessions.v1`) in the standard server interceptor chain."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc

from interceptors import ServerInterceptorConfig, server_interceptors
from mesh.client import ClientConfig, MeshClient, load_client_config
from mesh.config import env_key, load_section
from mesh.events import SESSIONS, Consumer, EventsConfig
from mesh.lifecycle import Lifecycle
from mesh.server.config import ServerConfig
from mesh.server.run import RunContext
from mesh.tls import TlsConfig, load_service_credentials_async
from mesh.tokens import TokenConfig
from mesh.tokens.cache import JwksCache
from mesh.tokens.remote import identity_jwks
from mesh.tokens.revocations import RevokedSessions
from mesh.tokens.verifier import AsyncTokenVerifier

log = logging.getLogger(__name__)


def client_config(toml: Mapping[str, Any], server: ServerConfig) -> ClientConfig:
    """`[client]` / `TRADEMESH_CLIENT_*`; Consul and plaintext follow the server's settings
    unless set for the client itself."""
    table = toml.get("client", {})
    overrides: dict[str, Any] = {}
    for name, value in (("consul_address", server.consul_address), ("plaintext", server.plaintext)):
        if env_key("client", name) not in os.environ and name not in table:
            overrides[name] = value
    return load_client_config(toml, overrides=overrides)


@dataclass(frozen=True)
class ServiceRuntime:
    ctx: RunContext
    mesh: MeshClient
    events: EventsConfig
    tokens: TokenConfig
    revoked: RevokedSessions
    # Every instance reads every revocation still in the topic from its start (no group).
    revocations: Consumer
    jwks: JwksCache

    @property
    def workers(self) -> tuple[Lifecycle, ...]:
        """For ServiceSpec.workers, ahead of the service's own."""
        return (self.mesh, self.revocations, SigningKeysWarmup(self.jwks))

    def interceptors(self) -> list[grpc.aio.ServerInterceptor]:
        return server_interceptors(
            ServerInterceptorConfig(
                service_name=self.ctx.name,
                verifier=AsyncTokenVerifier(self.jwks, self.tokens),
                is_revoked=self.revoked.is_revoked,
                registry=self.ctx.registry,
                tracer_provider=self.ctx.tracer_provider,
            )
        )


async def open_runtime(ctx: RunContext) -> ServiceRuntime:
    """Read the shared sections (`[client]`, `[events]`, `[tokens]`) and load this service's
    mesh certificate; nothing connects until the workers start."""
    clients = client_config(ctx.toml, ctx.server)
    credentials = None
    if not clients.plaintext:
        credentials = await load_service_credentials_async(TlsConfig(ctx.server.tls_dir), ctx.name)
    events = EventsConfig.load(toml=ctx.toml)
    revoked = RevokedSessions()
    mesh = MeshClient(clients, credentials=credentials)
    return ServiceRuntime(
        ctx=ctx,
        mesh=mesh,
        events=events,
        tokens=load_section(TokenConfig, "tokens", toml=ctx.toml),
        revoked=revoked,
        revocations=Consumer(events, None, [SESSIONS], revoked, registry=ctx.registry),
        jwks=JwksCache(identity_jwks(mesh)),
    )


class SigningKeysWarmup(Lifecycle):
    """Fetches identity's signing keys while the instance starts, before it registers in
    Consul: its first calls then verify tokens at once instead of waiting on a lookup of
    identity and a fresh mTLS connection. Identity being away is no reason not to start (the
    first token check fetches again), so a failure is only logged."""

    def __init__(self, jwks: JwksCache) -> None:
        self._jwks = jwks

    async def start(self) -> None:
        if not await self._jwks.refresh():
            log.warning("identity's signing keys are not loaded yet; fetched on first use")

    async def stop(self) -> None:
        """Nothing held."""
