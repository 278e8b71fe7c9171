"""The operator endpoints as Starlette routes: /health, /health/{service}, /metrics, /info,
/services."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry
from starlette.routing import Route

from edge.contracts import Contracts
from edge.ops.config import OpsConfig
from edge.ops.consul_health import ConsulHealth
from edge.ops.health import HealthEndpoints
from edge.ops.info import EdgeIdentity, InfoEndpoints, RouteSource
from edge.ops.metrics import metrics_endpoint
from edge.ops.upstreams import UpstreamSource, process_upstreams


def ops_routes(
    *,
    contracts: Callable[[], Contracts],
    registry: CollectorRegistry,
    name: str = "edge",
    consul_address: str | None = None,
    consul: ConsulHealth | None = None,
    routes: Callable[[], RouteSource] | None = None,
    identity: EdgeIdentity | None = None,
    config: OpsConfig | None = None,
    upstreams: UpstreamSource = process_upstreams,
) -> list[Route]:
    """`contracts` (and `routes`, the current route table, when given) are asked on each
    request: they change as reflection learns new RPCs. Health is read from `consul`, whose
    lifecycle the caller owns, or from a reader made here for `consul_address`.
    /health watches `config.health_services`, or every service the contracts call, and shows
    the mesh client's view of each from `upstreams` (by default every live mesh client of the
    process: the edge's own)."""
    if (consul is None) == (consul_address is None):
        raise ValueError("ops_routes needs exactly one of consul= and consul_address=")
    config = config or OpsConfig()
    reader = consul or ConsulHealth(
        str(consul_address),
        cache_seconds=config.health_cache_seconds,
        timeout_seconds=config.health_consul_timeout_seconds,
    )
    identity = identity or EdgeIdentity(
        name=name, instance_id=f"{name}-{socket.gethostname()}-{os.getpid()}"
    )
    fixed = config.health_services

    def watched() -> Sequence[str]:
        return fixed or contracts().services

    health = HealthEndpoints(reader, watched, upstreams)
    info = InfoEndpoints(identity, contracts, watched, reader, routes, upstreams)
    return [
        Route("/health", health.overall, methods=["GET"], name="health"),
        Route("/health/{service}", health.one, methods=["GET"], name="health_service"),
        Route("/metrics", metrics_endpoint(registry), methods=["GET"], name="metrics"),
        Route("/info", info.info, methods=["GET"], name="info"),
        Route("/services", info.services_doc, methods=["GET"], name="services"),
    ]
