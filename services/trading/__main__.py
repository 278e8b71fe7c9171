"""`python -m services.trading`: the trading service as a mesh server."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from contextlib import AsyncExitStack
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
from services.trading.access import RevokedSessions, identity_verifier
from services.trading.app import Upstreams, build_trading
from services.trading.config import TradingConfig
from services.trading.upstreams import GrpcCash, GrpcHoldings, GrpcMarket

NAME = "trading"


def client_config(toml: Mapping[str, Any], server: ServerConfig) -> ClientConfig:
    """`[client]` / `TRADEMESH_CLIENT_*`; Consul and plaintext follow the server's settings
    unless set for the client itself."""
    table = toml.get("client", {})
    overrides: dict[str, Any] = {}
    for name, value in (("consul_address", server.consul_address), ("plaintext", server.plaintext)):
        if env_key("client", name) not in os.environ and name not in table:
            overrides[name] = value
    return load_section(ClientConfig, "client", toml=toml, overrides=overrides)


def mesh_upstreams(mesh: MeshClient) -> Upstreams:
    async def marketdata() -> Any:
        return await mesh.connect("marketdata")

    async def portfolio() -> Any:
        return await mesh.connect("portfolio")

    return Upstreams(
        market=GrpcMarket(marketdata), cash=GrpcCash(portfolio), holdings=GrpcHoldings(portfolio)
    )


async def build(ctx: RunContext) -> ServiceSpec:
    config = TradingConfig.load(toml=ctx.toml)
    events = EventsConfig.load(toml=ctx.toml)
    tokens = load_section(TokenConfig, "tokens", toml=ctx.toml)
    clients = client_config(ctx.toml, ctx.server)
    credentials = None
    if not clients.plaintext:
        credentials = await load_service_credentials_async(TlsConfig(ctx.server.tls_dir), NAME)
    async with AsyncExitStack() as cleanup:
        mesh = MeshClient(clients, credentials=credentials)
        cleanup.push_async_callback(mesh.stop)
        revoked = RevokedSessions()
        # Every instance learns every revocation still in the topic, from its start.
        revocations = Consumer(events, None, [SESSIONS], revoked, registry=ctx.registry)
        trading = await build_trading(
            config,
            mesh_upstreams(mesh),
            events=events,
            registry=ctx.registry,
            extra_workers=(revocations,),
        )
        cleanup.pop_all()
    trading.closers.append(mesh.stop)
    interceptors = server_interceptors(
        ServerInterceptorConfig(
            service_name=ctx.name,
            verifier=identity_verifier(mesh, tokens),
            is_revoked=revoked.is_revoked,
            registry=ctx.registry,
            tracer_provider=ctx.tracer_provider,
        )
    )
    return trading.service_spec(interceptors)


if __name__ == "__main__":
    sys.exit(run_service(NAME, build))
