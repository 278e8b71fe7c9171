"""The operator endpoints as Starlette routes: /health, /health/{service}, /metrics, /info,
/services."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry
from starlette.routing import Route

from edge.contracts import Contracts
from edge.ops.consul_health import ConsulHealth
from edge.ops.health import HealthEndpoints
from edge.ops.info import EdgeIdentity, InfoEndpoints
from edge.ops.metrics import metrics_endpoint


def ops_routes(
    *,
    identity: EdgeIdentity,
    consul: ConsulHealth,
    contracts: Callable[[], Contracts],
    registry: CollectorRegistry,
    services: Sequence[str] = (),
) -> list[Route]:
    """`contracts` returns the current contracts (they change as reflection learns routes);
    `services` names the Consul services to report, default every one the contracts call.
    The caller owns `consul` (start/stop it with the app)."""
    fixed = tuple(services)

    def watched() -> Sequence[str]:
        return fixed or contracts().services

    health = HealthEndpoints(consul, watched)
    info = InfoEndpoints(identity, contracts, watched, consul)
    return [
        Route("/health", health.overall, methods=["GET"], name="health"),
        Route("/health/{service}", health.one, methods=["GET"], name="health_service"),
        Route("/metrics", metrics_endpoint(registry), methods=["GET"], name="metrics"),
        Route("/info", info.info, methods=["GET"], name="info"),
        Route("/services", info.services_doc, methods=["GET"], name="services"),
    ]
