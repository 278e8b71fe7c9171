"""`python -m services.marketdata`: the marketdata service as a mesh server."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

from interceptors import ServerInterceptorConfig, server_interceptors
from mesh.client import ClientConfig, MeshClient
from mesh.config import load_section
from mesh.config.loader import env_key
from mesh.events import EventsConfig
from mesh.server import ServiceSpec
from mesh.server.config import ServerConfig
from mesh.server.run import RunContext, run_service
from mesh.tls import TlsConfig, load_service_credentials_async
from mesh.tokens import TokenConfig
from services.marketdata.app import build_marketdata
from services.marketdata.config import MarketDataConfig
from services.marketdata.kafka import LazyProducer
from services.marketdata.tokens import identity_verifier

NAME = "marketdata"


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
    config = MarketDataConfig.load(toml=ctx.toml)
    tokens = load_section(TokenConfig, "tokens", toml=ctx.toml)
    clients = client_config(ctx.toml, ctx.server)
    events = EventsConfig.load(toml=ctx.toml) if config.publish_quotes else None
    async with AsyncExitStack() as cleanup:
        credentials = None
        if not clients.plaintext:
            credentials = await load_service_credentials_async(TlsConfig(ctx.server.tls_dir), NAME)
        mesh = MeshClient(clients, credentials=credentials)
        cleanup.push_async_callback(mesh.stop)
        producer = None
        if events is not None:
            producer = LazyProducer(events, source=NAME, registry=ctx.registry)
            cleanup.push_async_callback(producer.stop)
        marketdata = await build_marketdata(
            config,
            send=None if producer is None else producer.send,
            closers=[] if producer is None else [producer.stop],
        )
        cleanup.pop_all()
    marketdata.closers.append(mesh.stop)
    interceptors = server_interceptors(
        ServerInterceptorConfig(
            service_name=ctx.name,
            verifier=identity_verifier(mesh, tokens),
            registry=ctx.registry,
            tracer_provider=ctx.tracer_provider,
        )
    )
    return marketdata.service_spec(interceptors)


if __name__ == "__main__":
    sys.exit(run_service(NAME, build))
