"""Settings of the edge's HTTP layer: body limit, request timeout, CORS, security headers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mesh.config import ConfigError, env_key

SECTION = "edge"

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110 §5.6.2)

DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class HttpConfig:
    """`cors_origins` empty: no CORS headers at all (same-origin only); `("*",)`: any origin
    (never with credentials, which browsers refuse). `hsts_max_age_seconds` 0: no HSTS
    header, for edges not reached over HTTPS. `request_timeout_seconds` is the deadline the
    REST handler gives a unary call made without one."""

    max_body_bytes: int = 1 << 20
    request_timeout_seconds: float = 30.0
    cors_origins: tuple[str, ...] = ()
    cors_methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")
    cors_headers: tuple[str, ...] = (
        "Authorization",
        "Content-Type",
        "Idempotency-Key",
        "X-Correlation-Id",
        "traceparent",
        "tracestate",
    )
    cors_credentials: bool = False
    cors_max_age_seconds: int = 600
    hsts_max_age_seconds: int = 0
    hsts_include_subdomains: bool = False
    csp: str = DEFAULT_CSP

    def __post_init__(self) -> None:
        if self.max_body_bytes <= 0:
            raise ConfigError(_key("max_body_bytes"), "must be > 0")
        if self.request_timeout_seconds <= 0:
            raise ConfigError(_key("request_timeout_seconds"), "must be > 0")
        for origin in self.cors_origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ConfigError(
                    _key("cors_origins"),
                    f"{origin!r} is not '*' or an origin like https://app.example.com[:port]"
                    " (scheme and host, no path or trailing slash)",
                )
        if "*" in self.cors_origins and len(self.cors_origins) > 1:
            raise ConfigError(_key("cors_origins"), "'*' cannot be combined with other origins")
        if "*" in self.cors_origins and self.cors_credentials:
            raise ConfigError(
                _key("cors_credentials"),
                "cannot be true with cors_origins '*' (browsers refuse credentials for any "
                "origin); list the origins instead",
            )
        for name in ("cors_methods", "cors_headers"):
            for value in getattr(self, name):
                if value != "*" and not _TOKEN.fullmatch(value):
                    raise ConfigError(_key(name), f"{value!r} is not an HTTP token")
        if self.cors_max_age_seconds < 0:
            raise ConfigError(_key("cors_max_age_seconds"), "must be >= 0")
        if self.hsts_max_age_seconds < 0:
            raise ConfigError(_key("hsts_max_age_seconds"), "must be >= 0")
        if not self.csp.strip() or any(c in self.csp for c in "\r\n"):
            raise ConfigError(_key("csp"), "must be a non-empty single-line policy")


def _key(field: str) -> str:
    return env_key(SECTION, field)
