"""Security headers on every HTTP answer of the edge, the app's own values left alone."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.http.config import HttpConfig

API_PREFIX = "/api/"


def security_headers(config: HttpConfig) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", config.csp.encode()),
    ]
    if config.hsts_max_age_seconds:
        value = f"max-age={config.hsts_max_age_seconds}"
        if config.hsts_include_subdomains:
            value += "; includeSubDomains"
        headers.append((b"strict-transport-security", value.encode()))
    return headers


class SecurityHeadersMiddleware:
    """Adds each header the answer does not set itself (a docs page may bring its own
    Content-Security-Policy); answers under /api/ are never cached (`no-store`), since they
    carry one user's data."""

    def __init__(self, app: ASGIApp, config: HttpConfig) -> None:
        self.app = app
        self._headers = security_headers(config)
        self._api_headers = [*self._headers, (b"cache-control", b"no-store")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._api_headers if scope["path"].startswith(API_PREFIX) else self._headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in extra if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
