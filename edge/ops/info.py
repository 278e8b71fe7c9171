"""`/info` (what this edge instance is) and `/services` (what it calls: each Consul service,
its instances, and the routes and rooms it serves)."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.metadata
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
from google.api import http_pb2
from starlette.requests import Request
from starlette.responses import Response

from edge.contracts import Contracts, MethodContract
from edge.http.responses import JSON_MEDIA_TYPE, json_bytes
from edge.ops.consul_health import ConsulHealth
from edge.ops.health import service_health, upstreams_by_service
from edge.ops.upstreams import UpstreamSource, process_upstreams
from edge.rest.routes import Route


class RouteSource(Protocol):
    """The route table as the REST transcoder built it (`edge.rest.RouteTable`)."""

    @property
    def routes(self) -> tuple[Route, ...]: ...


def _package_version() -> str:
    try:
        return importlib.metadata.version("trademesh")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class EdgeIdentity:
    """Who this edge process is; made once at start-up."""

    instance_id: str
    name: str = "edge"
    version: str = field(default_factory=_package_version)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    started_monotonic: float = field(default_factory=time.monotonic)

    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_monotonic


def bindings(method: MethodContract) -> list[tuple[str, str]]:
    """(HTTP method, path template) of each binding of an RPC, primary first."""
    found = []
    for rule in method.http_rules:
        pattern = rule.WhichOneof("pattern")
        if pattern is None:
            continue
        if pattern == "custom":
            custom: http_pb2.CustomHttpPattern = rule.custom
            found.append((custom.kind.upper(), custom.path))
        else:
            found.append((pattern.upper(), str(getattr(rule, pattern))))
    return found


@dataclass(frozen=True)
class Served:
    """One HTTP route: method, path template, the RPC and the Consul service behind it."""

    http_method: str
    path: str
    rpc: str
    service: str


def served_routes(contracts: Contracts, table: RouteSource | None) -> list[Served]:
    """The route table's routes when there is one (what the edge really serves), else every
    binding of every reachable RPC in the contracts."""
    if table is not None:
        return [
            Served(r.http_method, r.template.text, r.method.name, r.method.service)
            for r in table.routes
        ]
    return [
        Served(verb, path, m.name, m.service)
        for m in contracts
        if m.reachable
        for verb, path in bindings(m)
    ]


class InfoEndpoints:
    def __init__(
        self,
        identity: EdgeIdentity,
        contracts: Callable[[], Contracts],
        services: Callable[[], Sequence[str]],
        consul: ConsulHealth,
        routes: Callable[[], RouteSource] | None = None,
        upstreams: UpstreamSource = process_upstreams,
    ) -> None:
        self.identity = identity
        self.contracts = contracts
        self.services = services
        self.consul = consul
        self.routes = routes
        self.upstreams = upstreams

    def _served(self) -> list[Served]:
        return served_routes(self.contracts(), None if self.routes is None else self.routes())

    async def info(self, request: Request) -> Response:
        me = self.identity
        return _json(
            {
                "name": me.name,
                "version": me.version,
                "instanceId": me.instance_id,
                "startedAt": me.started_at.isoformat(timespec="seconds"),
                "uptimeSeconds": round(me.uptime_seconds(), 3),
                "python": platform.python_version(),
                "grpc": grpc.__version__,
                "routes": len(self._served()),
                "services": list(self.services()),
            }
        )

    async def services_doc(self, request: Request) -> Response:
        contracts = self.contracts()
        served = self._served()
        names = list(self.services())
        client = upstreams_by_service(self.upstreams)
        healths = await asyncio.gather(
            *(service_health(self.consul, n, client.get(n)) for n in names)
        )
        return _json(
            {
                "services": [
                    {
                        "name": health.service,
                        "status": health.status,
                        **({"error": health.error} if health.error else {}),
                        "instances": [
                            {
                                "id": i.instance_id,
                                "address": f"{i.host}:{i.port}",
                                "status": i.status,
                            }
                            for i in health.instances
                        ],
                        "routes": [
                            {"method": r.http_method, "path": r.path, "rpc": r.rpc}
                            for r in served
                            if r.service == health.service
                        ],
                        "rooms": [
                            {"room": m.room, "rpc": m.name}
                            for m in contracts
                            if m.service == health.service and m.reachable and m.room
                        ],
                    }
                    for health in healths
                ]
            }
        )


def _json(doc: dict[str, Any]) -> Response:
    return Response(
        json_bytes(doc), media_type=JSON_MEDIA_TYPE, headers={"Cache-Control": "no-store"}
    )
