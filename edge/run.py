"""The edge's entry point: config, logging, tracing, mTLS identity, then serve with uvicorn
until signalled; the same shutdown order as a service (stop accepting, drain, close)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

import uvicorn
from prometheus_client import REGISTRY

from edge.app import Edge
from edge.config import EdgeSettings
from mesh.config import ConfigError, config_parser, load_section, read_toml
from mesh.observability import configure_logging, configure_tracing
from mesh.server.run import ObservabilityConfig
from mesh.tls import TlsConfig, load_service_credentials_async

log = logging.getLogger(__name__)


async def serve(settings: EdgeSettings, observability: ObservabilityConfig) -> None:
    provider = configure_tracing(
        settings.edge.name,
        observability.otlp_endpoint,
        sample_ratio=observability.trace_sample_ratio,
    )
    credentials = None
    if not settings.client.plaintext:
        # Every edge presents the mesh identity `edge` to the services it calls.
        credentials = await load_service_credentials_async(TlsConfig(settings.edge.tls_dir), "edge")
    async with Edge(
        settings, credentials=credentials, registry=REGISTRY, tracer_provider=provider
    ) as edge:
        server = uvicorn.Server(
            uvicorn.Config(
                edge.app,
                host=settings.edge.host,
                port=settings.edge.port,
                lifespan="off",
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=int(settings.edge.grace_seconds) or None,
                proxy_headers=True,
                # Longer than nginx keeps an idle upstream connection (60 s), so nginx never
                # sends a request on a connection the edge is closing.
                timeout_keep_alive=75,
                forwarded_allow_ips="127.0.0.1",
            )
        )
        log.info(
            "edge serving",
            extra={"address": f"http://{settings.edge.host}:{settings.edge.port}"},
        )
        await server.serve()


def run_edge(argv: Sequence[str] | None = None) -> int:
    args = config_parser("python -m edge").parse_args(argv)
    try:
        toml = read_toml(args.config)
        settings = EdgeSettings.load(toml)
        observability = load_section(ObservabilityConfig, "observability", toml=toml)
    except ConfigError as exc:
        print(f"edge: bad configuration: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.edge.name, observability.log_level.upper())
    try:
        asyncio.run(serve(settings, observability))
    except ConfigError as exc:
        print(f"edge: bad configuration: {exc}", file=sys.stderr)
        return 2
    return 0
