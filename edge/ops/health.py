"""`/health` and `/health/{service}`: the health of the services the edge calls, from Consul's
view of their instances and the edge's mesh client's (circuit breakers, retries, shedding).

A service is healthy when Consul passes every instance and the client's breaker of every
instance it calls is closed; degraded when some instance fails its checks or has its breaker
open or half-open (every breaker open included: the client still sends calls to them rather
than none); unhealthy when no instance passes in Consul. When Consul cannot be asked, a
service the client still calls on a closed breaker (its last known instances) is degraded,
otherwise unhealthy. The whole is its worst service; only unhealthy answers 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from starlette.requests import Request
from starlette.responses import Response

from edge.errors import EdgeError, error_info
from edge.http.responses import JSON_MEDIA_TYPE, edge_error_response, json_bytes
from edge.ops import upstreams
from edge.ops.consul_health import ConsulHealth, InstanceHealth
from edge.ops.upstreams import UpstreamSource, process_upstreams
from mesh.client import UpstreamState
from mesh.discovery.consul import ConsulError

log = logging.getLogger(__name__)

HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
_RANK = {HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2}


@dataclass(frozen=True)
class ServiceHealth:
    service: str
    instances: tuple[InstanceHealth, ...]
    error: str = ""  # why Consul could not tell
    upstream: UpstreamState | None = None  # the mesh client's view, once it has called

    @property
    def passing(self) -> int:
        return sum(1 for i in self.instances if i.passing)

    @property
    def total(self) -> int:
        return len(self.instances)

    @property
    def consul_status(self) -> str:
        """Every instance passing: healthy; some: degraded; none (or none registered, or
        Consul unreachable): unhealthy."""
        passing = self.passing
        if self.error or passing == 0:
            return UNHEALTHY
        return HEALTHY if passing == self.total else DEGRADED

    @property
    def client_status(self) -> str:
        """Every breaker closed (or no instance called yet): healthy; any other: degraded."""
        up = self.upstream
        if up is None or all(i.breaker == upstreams.CLOSED for i in up.instances):
            return HEALTHY
        return DEGRADED

    @property
    def status(self) -> str:
        consul = self.consul_status
        if self.error and self.upstream is not None and upstreams.serving(self.upstream):
            consul = DEGRADED
        return worst((consul, self.client_status))

    def summary(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"status": self.status, "passing": self.passing, "total": self.total}
        if self.error:
            doc["error"] = self.error
        if self.upstream is not None:
            doc["client"] = upstreams.summary(self.upstream)
        return doc

    def detail(self) -> dict[str, Any]:
        doc = {"service": self.service, **self.summary()}
        known = {} if self.upstream is None else {i.instance_id: i for i in self.upstream.instances}
        instances = []
        for i in self.instances:
            seen = known.pop(i.instance_id, None)
            instances.append(
                {
                    "id": i.instance_id,
                    "address": i.host,
                    "port": i.port,
                    "node": i.node,
                    "status": i.status,
                    "checks": [{"name": c.name, "status": c.status} for c in i.checks],
                    **({} if seen is None else upstreams.instance_detail(seen)),
                }
            )
        # Instances the client calls that Consul's answer does not list (Consul unreachable,
        # or one of the two has not caught up with the other yet).
        for seen in known.values():
            host, _, port = seen.address.rpartition(":")
            instances.append(
                {
                    "id": seen.instance_id,
                    "address": host,
                    "port": int(port) if port.isdigit() else 0,
                    "status": "unknown",
                    **upstreams.instance_detail(seen),
                }
            )
        if self.upstream is not None:
            doc["client"] = upstreams.detail(self.upstream)
        doc["instances"] = instances
        return doc


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=_RANK.__getitem__, default=HEALTHY)


async def service_health(
    consul: ConsulHealth, service: str, upstream: UpstreamState | None = None
) -> ServiceHealth:
    try:
        return ServiceHealth(service, await consul.instances(service), upstream=upstream)
    except ConsulError as exc:
        # Where Consul lives is for the log, not for whoever asks /health.
        log.warning("consul health unavailable", extra={"service": service, "error": str(exc)})
        return ServiceHealth(service, (), error="consul unavailable", upstream=upstream)


def upstreams_by_service(source: UpstreamSource) -> dict[str, UpstreamState]:
    return {u.service: u for u in upstreams.merge(source())}


class HealthEndpoints:
    """`services` is asked on each request, so services learned at run time are watched;
    `upstreams` too (the mesh client's view; by default every live client of the process)."""

    def __init__(
        self,
        consul: ConsulHealth,
        services: Callable[[], Sequence[str]],
        upstreams: UpstreamSource = process_upstreams,
    ) -> None:
        self.consul = consul
        self.services = services
        self.upstreams = upstreams

    async def overall(self, request: Request) -> Response:
        client = upstreams_by_service(self.upstreams)
        found = await asyncio.gather(
            *(service_health(self.consul, s, client.get(s)) for s in self.services())
        )
        status = worst(h.status for h in found)
        doc = {"status": status, "services": {h.service: h.summary() for h in found}}
        return _answer(doc, status)

    async def one(self, request: Request) -> Response:
        service = request.path_params["service"]
        if service not in self.services():
            return edge_error_response(
                EdgeError(
                    grpc.StatusCode.NOT_FOUND,
                    f"service {service!r} is not one the edge calls",
                    details=[error_info("SERVICE_UNKNOWN", service=service)],
                )
            )
        upstream = upstreams_by_service(self.upstreams).get(service)
        health = await service_health(self.consul, service, upstream)
        return _answer(health.detail(), health.status)


def _answer(doc: dict[str, Any], status: str) -> Response:
    # 503 only when a service has nothing left to serve: a degraded mesh still answers.
    return Response(
        json_bytes(doc),
        status_code=503 if status == UNHEALTHY else 200,
        media_type=JSON_MEDIA_TYPE,
        headers={"Cache-Control": "no-store"},
    )
