"""`/metrics`: the registry in Prometheus text format (OpenMetrics when the scraper asks), with
the mesh client's resilience families (mesh_client_*) whichever registry it is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from prometheus_client import REGISTRY, CollectorRegistry, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from mesh.client.metrics import ResilienceCollector


class _WithResilience:
    """`registry` and the resilience collector, which mesh.client registers on the global
    REGISTRY only: an edge serving its own registry shows the mesh_client_* families too."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.resilience = ResilienceCollector()

    def collect(self) -> Iterable[Metric]:
        yield from self.registry.collect()
        yield from self.resilience.collect()


def metrics_endpoint(registry: CollectorRegistry) -> Callable[[Request], Awaitable[Response]]:
    source: Collector = registry if registry is REGISTRY else _WithResilience(registry)

    async def metrics(request: Request) -> Response:
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(source), headers={"Content-Type": content_type})

    return metrics
