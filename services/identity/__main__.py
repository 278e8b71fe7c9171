"""`python -m services.identity`: the identity service as a mesh server."""

from __future__ import annotations

import sys

from interceptors import ServerInterceptorConfig, server_interceptors
from mesh.config import load_section
from mesh.events import EventsConfig
from mesh.server import ServiceSpec
from mesh.server.run import RunContext, run_service
from mesh.tokens import TokenConfig
from services.identity.app import build_identity
from services.identity.config import IdentityConfig


async def build(ctx: RunContext) -> ServiceSpec:
    identity = await build_identity(
        IdentityConfig.load(toml=ctx.toml),
        load_section(TokenConfig, "tokens", toml=ctx.toml),
        events=EventsConfig.load(toml=ctx.toml),
        registry=ctx.registry,
    )
    interceptors = server_interceptors(
        ServerInterceptorConfig(
            service_name=ctx.name,
            verifier=identity.keys,  # identity checks tokens against its own key ring
            is_revoked=identity.is_session_revoked,
            registry=ctx.registry,
            tracer_provider=ctx.tracer_provider,
        )
    )
    return identity.service_spec(interceptors)


if __name__ == "__main__":
    sys.exit(run_service("identity", build))
