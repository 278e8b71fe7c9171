"""The REST gateway: one ASGI app for every route in the table — match, authenticate, limit,
assemble the request, call the service through the mesh client, answer (or stream)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from edge.auth import EdgeAuth
from edge.errors import EdgeError, log_if_server_fault, status_from_rpc_error
from edge.http.responses import edge_error_response, error_response
from edge.limits import RateLimiter
from edge.rest.answers import success_response
from edge.rest.request import build_request
from edge.rest.routes import Route, RouteTable
from edge.rest.streaming import StreamSettings, stream_response
from edge.upstream import Upstream
from mesh import context as call_context
from mesh.context import Principal

log = logging.getLogger(__name__)

# The ASGI scope key under which the matched route's template is left for the metrics and
# tracing middleware (labels by template, never by raw path).
ROUTE_TEMPLATE_KEY = "route_template"


@dataclass(frozen=True)
class GatewaySettings:
    request_timeout_seconds: float
    max_body_bytes: int
    stream: StreamSettings


class RestGateway:
    def __init__(
        self,
        routes: Callable[[], RouteTable],
        upstream: Upstream,
        auth: EdgeAuth,
        limiter: RateLimiter | None,
        settings: GatewaySettings,
    ) -> None:
        self._routes = routes
        self._upstream = upstream
        self._auth = auth
        self._limiter = limiter
        self._settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self._answer(request, scope, receive, send)
        except EdgeError as error:
            response = edge_error_response(error)
        except ClientDisconnect:
            return  # nobody to answer
        except grpc.aio.AioRpcError as failure:
            status = status_from_rpc_error(failure)
            log_if_server_fault(status, scope.get(ROUTE_TEMPLATE_KEY, ""))
            response = error_response(status)
        if response is not None:
            await response(scope, receive, send)

    async def _answer(
        self, request: Request, scope: Scope, receive: Receive, send: Send
    ) -> Response | None:
        # The raw path: a `%2F` inside a single-segment variable must not split it.
        match = self._routes().match(request.method, scope["raw_path"].decode("latin-1"))
        route = match.route
        scope[ROUTE_TEMPLATE_KEY] = f"{route.http_method} {route.template.text}"
        principal = await self._identify(request, route)
        headers: dict[str, str] = {}
        if self._limiter is not None:
            key = principal.user_id if principal is not None else _client_address(request)
            headers.update(
                self._limiter.admit(key, scope[ROUTE_TEMPLATE_KEY], anonymous=principal is None)
            )
        body = await request.body() if route.body else b""
        message = build_request(
            match, request.query_params.multi_items(), body, request.headers.get("content-type")
        )
        with call_context.bind(principal=principal):
            if route.method.server_streaming:
                await stream_response(
                    self._upstream,
                    route,
                    message,
                    request.headers.get("accept", ""),
                    self._settings.stream,
                    scope,
                    receive,
                    send,
                )
                return None
            answer = await self._upstream.unary(
                route.method, message, timeout_seconds=self._settings.request_timeout_seconds
            )
        return success_response(route, answer, headers)

    async def _identify(self, request: Request, route: Route) -> Principal | None:
        """The verified caller, bound in `mesh.context` so the mesh client forwards the token.
        A public route ignores a bad token, as the service would, and forwards none."""
        authorization = request.headers.get("authorization")
        access = route.method.access
        if access is not None and access.public:
            try:
                return await self._auth.authenticate(authorization)
            except EdgeError:
                return None
        principal = await self._auth.authenticate(authorization)
        if access is not None:
            self._auth.authorize(principal, access, method=route.method.name)
        return principal


def _client_address(request: Request) -> str:
    # nginx sets X-Real-IP to the address it saw; without nginx in front, the peer itself.
    forwarded = request.headers.get("x-real-ip")
    if forwarded:
        return forwarded
    return request.client.host if request.client else "unknown"
