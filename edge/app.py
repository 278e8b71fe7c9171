"""The edge as one lifecycle object: the mesh client and what stands on it (auth, contracts
learned by reflection, the route and room tables), and the ASGI app that serves REST,
Socket.IO, the documents and the operator endpoints."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as HttpRoute
from starlette.routing import Router
from starlette.types import ASGIApp

from edge.auth import EdgeAuth
from edge.config import EdgeSettings
from edge.contracts import Contracts
from edge.discovery import ContractCatalog
from edge.docs import asyncapi_document, docs_routes, openapi_document, source_comments
from edge.http import middleware_stack
from edge.limits import RateLimiter
from edge.ops import ConsulHealth, ops_routes
from edge.realtime import Realtime
from edge.rest.gateway import GatewaySettings, RestGateway
from edge.rest.routes import RouteTable
from edge.rest.streaming import StreamSettings
from edge.upstream import Upstream
from mesh.client import MeshClient
from mesh.events import SESSIONS, Consumer
from mesh.lifecycle import Lifecycle
from mesh.tls import ServiceCredentials
from mesh.tokens.remote import identity_verifier
from mesh.tokens.revocations import RevokedSessions

log = logging.getLogger(__name__)


class Edge(Lifecycle):
    def __init__(
        self,
        settings: EdgeSettings,
        *,
        credentials: ServiceCredentials | None,
        registry: CollectorRegistry,
        tracer_provider: TracerProvider,
    ) -> None:
        self.settings = settings
        self.mesh = MeshClient(settings.client, credentials=credentials)
        self.upstream = Upstream(self.mesh)
        self.revoked = RevokedSessions()
        self.revocations = Consumer(
            settings.events, None, [SESSIONS], self.revoked, registry=registry
        )
        self.auth = EdgeAuth(
            identity_verifier(self.mesh, settings.tokens),
            self.revoked.is_revoked,
            settings.auth,
            revocations=self.revoked,
        )
        self.catalog = ContractCatalog(
            self.mesh, settings.discovery, consul_address=settings.client.consul_address
        )
        self._routes = RouteTable.build(self.catalog.current)
        self._documents: dict[str, Any] = {}
        self._comments: dict[str, str] = {}
        self.catalog.subscribe(self._contracts_changed)
        self.realtime = Realtime(
            self.catalog.current,
            self.upstream,
            self.auth,
            settings.realtime,
            registry=registry,
            on_revoked=self.revoked.subscribe,
            gc_tuning=True,
        )
        limiter = RateLimiter(settings.limits) if settings.limits.enabled else None
        gateway = RestGateway(
            lambda: self._routes,
            self.upstream,
            self.auth,
            limiter,
            GatewaySettings(
                request_timeout_seconds=settings.http.request_timeout_seconds,
                max_body_bytes=settings.http.max_body_bytes,
                stream=StreamSettings(
                    open_wait_seconds=settings.edge.stream_open_wait_seconds,
                    keepalive_seconds=settings.edge.stream_keepalive_seconds,
                ),
            ),
        )
        self.health = ConsulHealth(
            settings.client.consul_address,
            cache_seconds=settings.ops.health_cache_seconds,
            timeout_seconds=settings.ops.health_consul_timeout_seconds,
        )
        router = Router(
            routes=[
                *ops_routes(
                    name=settings.edge.name,
                    consul=self.health,
                    contracts=lambda: self.catalog.current,
                    routes=lambda: self._routes,
                    registry=registry,
                    config=settings.ops,
                ),
                HttpRoute("/openapi.json", self._openapi, methods=["GET"]),
                HttpRoute("/asyncapi.json", self._asyncapi, methods=["GET"]),
                *docs_routes(),
            ],
            default=gateway,
        )
        http_app: ASGIApp = middleware_stack(
            router, settings.http, registry=registry, tracer_provider=tracer_provider
        )
        self.app: ASGIApp = self.realtime.asgi(http_app)
        self._stack: AsyncExitStack | None = None

    def _contracts_changed(self, contracts: Contracts) -> None:
        try:
            routes = RouteTable.build(contracts)
            self.realtime.update_contracts(contracts)
        except ValueError as exc:  # a reflected contract that conflicts: keep serving
            log.error("reflected contracts refused, routes unchanged", extra={"error": str(exc)})
            return
        self._routes = routes
        self._documents.clear()
        log.info("routes rebuilt", extra={"routes": len(routes.routes)})

    def _document(self, kind: str) -> Any:
        found = self._documents.get(kind)
        if found is None:
            info = {"title": "trademesh", "version": "v1"}
            found = self._documents[kind] = (
                openapi_document(self._routes.routes, info, self._comments)
                if kind == "openapi"
                else asyncapi_document(self.catalog.current, info, self._comments)
            )
        return found

    async def _openapi(self, request: Request) -> Response:
        return JSONResponse(self._document("openapi"))

    async def _asyncapi(self, request: Request) -> Response:
        return JSONResponse(self._document("asyncapi"))

    async def start(self) -> None:
        if self._stack is not None:
            return
        # The documents' descriptions come from the proto sources' comments (protoc, so off
        # the event loop); without a checkout they go without.
        self._comments = await asyncio.to_thread(source_comments)
        stack = AsyncExitStack()
        try:
            parts = (self.mesh, self.health, self.auth, self.revocations, self.catalog)
            for part in (*parts, self.realtime):
                await part.start()
                stack.push_async_callback(part.stop)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack

    async def stop(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
