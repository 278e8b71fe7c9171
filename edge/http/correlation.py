"""The correlation id of each HTTP request: read or made up, bound into mesh.context for the
mesh client to forward, echoed in the response."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interceptors.correlation import accept_correlation_id
from mesh import context as call_context

HEADER = b"x-correlation-id"
SCOPE_KEY = "correlation_id"


def request_correlation_id(scope: Scope) -> str:
    """The request's id, or a fresh one when it sent none, several, or a malformed one."""
    found: bytes | None = None
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            if found is not None:
                return accept_correlation_id(None)
            found = value
    return accept_correlation_id(None if found is None else found.decode("latin-1"))


class CorrelationMiddleware:
    """Binds `correlation_id` for the request (also kept in `scope["correlation_id"]`) and
    answers it in `X-Correlation-Id`. Runs on WebSocket scopes too, without the echo."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        correlation_id = request_correlation_id(scope)
        scope[SCOPE_KEY] = correlation_id
        with call_context.bind(correlation_id=correlation_id):
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return
            echoed = correlation_id.encode()

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = [(k, v) for k, v in message.get("headers", ()) if k != HEADER]
                    headers.append((HEADER, echoed))
                    message["headers"] = headers
                await send(message)

            await self.app(scope, receive, send_with_id)
