"""`/health` and `/health/{service}`: the health of the services the edge calls, from Consul."""

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
from edge.ops.consul_health import ConsulHealth, InstanceHealth
from mesh.discovery.consul import ConsulError

log = logging.getLogger(__name__)

HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
_RANK = {HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2}


@dataclass(frozen=True)
class ServiceHealth:
    service: str
    instances: tuple[InstanceHealth, ...]
    error: str = ""  # why Consul could not tell; the service then counts as unhealthy

    @property
    def passing(self) -> int:
        return sum(1 for i in self.instances if i.passing)

    @property
    def total(self) -> int:
        return len(self.instances)

    @property
    def status(self) -> str:
        """Every instance passing: healthy; some: degraded; none (or none registered, or
        Consul unreachable): unhealthy."""
        passing = self.passing
        if self.error or passing == 0:
            return UNHEALTHY
        return HEALTHY if passing == self.total else DEGRADED

    def summary(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"status": self.status, "passing": self.passing, "total": self.total}
        if self.error:
            doc["error"] = self.error
        return doc

    def detail(self) -> dict[str, Any]:
        return {
            "service": self.service,
            **self.summary(),
            "instances": [
                {
                    "id": i.instance_id,
                    "address": i.host,
                    "port": i.port,
                    "node": i.node,
                    "status": i.status,
                    "checks": [{"name": c.name, "status": c.status} for c in i.checks],
                }
                for i in self.instances
            ],
        }


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=_RANK.__getitem__, default=HEALTHY)


async def service_health(consul: ConsulHealth, service: str) -> ServiceHealth:
    try:
        return ServiceHealth(service, await consul.instances(service))
    except ConsulError as exc:
        # Where Consul lives is for the log, not for whoever asks /health.
        log.warning("consul health unavailable", extra={"service": service, "error": str(exc)})
        return ServiceHealth(service, (), error="consul unavailable")


class HealthEndpoints:
    """`services` is asked on each request, so services learned at run time are watched."""

    def __init__(self, consul: ConsulHealth, services: Callable[[], Sequence[str]]) -> None:
        self.consul = consul
        self.services = services

    async def overall(self, request: Request) -> Response:
        found = await asyncio.gather(*(service_health(self.consul, s) for s in self.services()))
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
        health = await service_health(self.consul, service)
        return _answer(health.detail(), health.status)


def _answer(doc: dict[str, Any], status: str) -> Response:
    # 503 only when a service has nothing left to serve: a degraded mesh still answers.
    return Response(
        json_bytes(doc),
        status_code=503 if status == UNHEALTHY else 200,
        media_type=JSON_MEDIA_TYPE,
        headers={"Cache-Control": "no-store"},
    )
