"""`python -m services.portfolio`: the portfolio service as a mesh server."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from interceptors import ServerInterceptorConfig, server_interceptors
from mesh.client import ClientConfig, MeshClient
from mesh.config import env_key, load_section
from mesh.events import SESSIONS, Consumer, EventsConfig
from mesh.server import ServiceSpec
from mesh.server.config import ServerConfig
from mesh.server.run import RunContext, run_service
from mesh.tls import TlsConfig, load_service_credentials_async
from mesh.tokens import TokenConfig
from services.portfolio.app import SERVICE, build_portfolio
from services.portfolio.config import PortfolioConfig
from services.portfolio.quotes import MarketDataQuotes
from services.portfolio.tokens import RevokedSessions, identity_verifier


def client_config(toml: Mapping[str, Any], server: ServerConfig) -> ClientConfig:
    """`[client]` / `TRADEMESH_CLIENT_*`; Consul and plaintext follow the server's settings
    unless set for the client itself."""
    table = toml.get("client", {})
    overrides: dict[str, Any] = {}
    for name, value in (("consul_address", server.consul_address), ("plaintext", server.plaintext)):
        if env_key("client", name) not in os.environ and name not in table:
            overrides[name] = value
    return load_section(ClientConfig, "client", toml=toml, overrides=overrides)


async def build(ctx: RunContext) -> ServiceSpec:
    config = PortfolioConfig.load(toml=ctx.toml)
    events = EventsConfig.load(toml=ctx.toml)
    tokens = load_section(TokenConfig, "tokens", toml=ctx.toml)
    clients = client_config(ctx.toml, ctx.server)
    credentials = None
    if not clients.plaintext:
        credentials = await load_service_credentials_async(TlsConfig(ctx.server.tls_dir), SERVICE)
    mesh = MeshClient(clients, credentials=credentials)
    revoked = RevokedSessions()
    # Every instance learns every revocation still in the topic, from its start.
    revocations = Consumer(events, None, [SESSIONS], revoked, registry=ctx.registry)
    portfolio = await build_portfolio(
        config,
        events,
        quotes=MarketDataQuotes(
            lambda: mesh.connect("marketdata"), timeout_seconds=config.quote_timeout_seconds
        ),
        registry=ctx.registry,
        extra=[revocations, mesh],
    )
    interceptors = server_interceptors(
        ServerInterceptorConfig(
            service_name=ctx.name,
            verifier=identity_verifier(mesh, tokens),
            is_revoked=revoked.is_revoked,
            registry=ctx.registry,
            tracer_provider=ctx.tracer_provider,
        )
    )
    return portfolio.service_spec(interceptors)


if __name__ == "__main__":
    sys.exit(run_service(SERVICE, build))
