"""Request bodies over the limit answered 413 with a google.rpc.Status, from Content-Length
before the app runs and while a chunked body streams in, never reading past the limit."""

from __future__ import annotations

import grpc
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.errors import EdgeError, bad_request, error_info
from edge.http.responses import edge_error_response


class BodyTooLarge(EdgeError):
    """Raised from `receive()` once the body passes the limit; an `EdgeError`, so a handler
    that renders edge errors answers it the same way this middleware would."""

    def __init__(self, limit: int) -> None:
        description = f"request body exceeds the limit of {limit} bytes"
        super().__init__(
            grpc.StatusCode.INVALID_ARGUMENT,
            description,
            details=[
                error_info("BODY_TOO_LARGE", limit_bytes=str(limit)),
                bad_request("", description),
            ],
            http_status=413,
        )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses such a request before it reaches us
    return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        if max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be > 0")
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await edge_error_response(BodyTooLarge(limit))(scope, receive, send)
            return
        if declared is not None:
            # The server delivers no more than Content-Length bytes; nothing to count.
            await self.app(scope, receive, send)
            return
        await _LimitedRequest(self.app, limit)(scope, receive, send)


class _LimitedRequest:
    """One request without Content-Length: counts the body as it arrives."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.received = 0
        self.exceeded = False
        self.app_started = False  # the app sent a response start of its own
        self.answered = False  # we sent the 413

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def limited_receive() -> Message:
            if self.exceeded:
                raise BodyTooLarge(self.limit)
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    self.exceeded = True
                    raise BodyTooLarge(self.limit)
            return message

        async def guarded_send(message: Message) -> None:
            if self.answered:
                return  # whatever the app answers after its body was refused goes nowhere
            if self.exceeded and not self.app_started:
                # The app caught the error and answers on its own (say, a 500): the client
                # still gets the 413.
                await self._answer(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                self.app_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if self.app_started:
                raise
            if not self.answered:
                await self._answer(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.answered = True
        await edge_error_response(BodyTooLarge(self.limit))(scope, receive, send)
