"""The entry point every service shares: config, logging, tracing, build, serve until signalled.

A service's `__main__` is one line: `sys.exit(run_service("identity", build))`, where `build`
turns a `RunContext` into its `ServiceSpec`. Bad configuration stops the process before it
binds anything, with the offending key named.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import REGISTRY, CollectorRegistry

from mesh.config import ConfigError, config_parser, load_section, read_toml
from mesh.observability import configure_logging, configure_tracing
from mesh.server.config import ServerConfig
from mesh.server.server import MeshServer
from mesh.server.spec import ServiceSpec

log = logging.getLogger(__name__)

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class ObservabilityConfig:
    """`[observability]`: the log level, the OTLP endpoint spans go to (none: spans are not
    recorded, trace context still propagates), and the share of new traces sampled."""

    log_level: str = "INFO"
    otlp_endpoint: str | None = None
    trace_sample_ratio: float = 1.0

    def __post_init__(self) -> None:
        if self.log_level.upper() not in _LEVELS:
            raise ConfigError("TRADEMESH_OBSERVABILITY_LOG_LEVEL", f"one of {_LEVELS}")
        ratio = self.trace_sample_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
            raise ConfigError(
                "TRADEMESH_OBSERVABILITY_TRACE_SAMPLE_RATIO", f"between 0 and 1, got {ratio!r}"
            )


@dataclass(frozen=True)
class RunContext:
    """What a service's builder gets: its name, the config file's tables, shared plumbing."""

    name: str
    toml: Mapping[str, Any]
    server: ServerConfig
    registry: CollectorRegistry
    tracer_provider: TracerProvider


Builder = Callable[[RunContext], Awaitable[ServiceSpec]]


async def serve(ctx: RunContext, build: Builder) -> None:
    spec = await build(ctx)
    server = MeshServer(spec, ctx.server, registry=ctx.registry)
    try:
        await server.serve_until_signalled()
    except BaseException:
        for hook in spec.on_stop:  # a failed start still releases what the build opened
            await hook()
        raise


def run_service(name: str, build: Builder, argv: Sequence[str] | None = None) -> int:
    args = config_parser(f"python -m services.{name}").parse_args(argv)
    try:
        toml = read_toml(args.config)
        server = load_section(ServerConfig, "server", toml=toml)
        observability = load_section(ObservabilityConfig, "observability", toml=toml)
    except ConfigError as exc:
        print(f"{name}: bad configuration: {exc}", file=sys.stderr)
        return 2
    configure_logging(name, observability.log_level.upper())
    provider = configure_tracing(
        name, observability.otlp_endpoint, sample_ratio=observability.trace_sample_ratio
    )
    ctx = RunContext(name, toml, server, REGISTRY, provider)
    try:
        asyncio.run(serve(ctx, build))
    except ConfigError as exc:
        log.error("bad configuration: %s", exc)
        print(f"{name}: bad configuration: {exc}", file=sys.stderr)
        return 2
    return 0
