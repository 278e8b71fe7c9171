"""Rate limit settings: the `[edge_limits]` section / `TRADEMESH_EDGE_LIMITS_*`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from mesh.config import ConfigError, env_key, load_section

SECTION = "edge_limits"
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_ROUTE_FORMAT = "expected 'METHOD /template=requests_per_second/burst'"


@dataclass(frozen=True, slots=True)
class Rate:
    """A token bucket: `burst` requests at once, refilled at `requests_per_second`."""

    requests_per_second: float
    burst: int

    def stricter(self, other: Rate) -> Rate:
        return Rate(
            min(self.requests_per_second, other.requests_per_second), min(self.burst, other.burst)
        )


@dataclass(frozen=True)
class RateLimitConfig:
    """Per caller and route. A signed-in user has one bucket for all routes at the `user_*`
    rate, plus one bucket per route listed in `routes`, whose rate replaces the user rate on
    that route. Anonymous callers are keyed by client address at the `anonymous_*` rate; a
    listed route caps them at the stricter of the two. `routes` items read
    `METHOD /template=requests_per_second/burst` (the template as in the route table, e.g.
    `POST /api/v1/orders=2/5`; `/burst` may be left out for a burst of one second's worth).
    At most `max_tracked_keys` buckets are kept; the least recently used go first."""

    enabled: bool = True
    user_requests_per_second: float = 50.0
    user_burst: int = 100
    anonymous_requests_per_second: float = 20.0
    anonymous_burst: int = 40
    routes: tuple[str, ...] = ()
    max_tracked_keys: int = 100_000

    def __post_init__(self) -> None:
        _rate("user_requests_per_second", self.user_requests_per_second)
        _rate("anonymous_requests_per_second", self.anonymous_requests_per_second)
        _count("user_burst", self.user_burst)
        _count("anonymous_burst", self.anonymous_burst)
        _count("max_tracked_keys", self.max_tracked_keys)
        # Derived, not a field: the config loader reads every field from the environment.
        object.__setattr__(self, "_route_rates", MappingProxyType(parse_routes(self.routes)))

    @property
    def route_rates(self) -> Mapping[str, Rate]:
        """The `routes` limits by route key (`POST /api/v1/orders`)."""
        rates: Mapping[str, Rate] = self.__dict__["_route_rates"]
        return rates

    @property
    def user_rate(self) -> Rate:
        return Rate(self.user_requests_per_second, self.user_burst)

    @property
    def anonymous_rate(self) -> Rate:
        return Rate(self.anonymous_requests_per_second, self.anonymous_burst)

    def check_routes(self, known: Iterable[str]) -> None:
        """Refuse `routes` naming a route the route table does not have (a typo would
        otherwise never limit anything)."""
        unknown = sorted(set(self.route_rates) - set(known))
        if unknown:
            raise ConfigError(_key("routes"), f"no such route: {', '.join(unknown)}")

    @classmethod
    def load(
        cls, *, environ: Mapping[str, str] | None = None, toml: Mapping[str, Any] | None = None
    ) -> RateLimitConfig:
        return load_section(cls, SECTION, environ=environ, toml=toml)


def parse_routes(specs: Iterable[str]) -> dict[str, Rate]:
    """`METHOD /template=rate[/burst]` items by normalised route key (`POST /api/v1/orders`)."""
    if isinstance(specs, str):
        raise ConfigError(_key("routes"), "must be a list of route limits, not one string")
    rates: dict[str, Rate] = {}
    for spec in specs:
        route, rate = _parse_route(spec)
        if route in rates:
            raise ConfigError(_key("routes"), f"{route} is limited twice")
        rates[route] = rate
    return rates


def _parse_route(spec: object) -> tuple[str, Rate]:
    if not isinstance(spec, str):
        raise ConfigError(_key("routes"), f"{spec!r}: {_ROUTE_FORMAT}")
    # The limit follows the last '=': a template variable may hold one (`{name=shelves/*}`).
    target, equals, limit = spec.rpartition("=")
    parts = target.split()
    if not equals or len(parts) != 2:
        raise ConfigError(_key("routes"), f"{spec!r}: {_ROUTE_FORMAT}")
    method, template = parts[0].upper(), parts[1]
    if method not in HTTP_METHODS:
        raise ConfigError(
            _key("routes"), f"{spec!r}: method must be one of {', '.join(sorted(HTTP_METHODS))}"
        )
    if not template.startswith("/"):
        raise ConfigError(_key("routes"), f"{spec!r}: the template must start with '/'")
    rate_text, slash, burst_text = limit.strip().partition("/")
    try:
        rate = float(rate_text)
        burst = int(burst_text) if slash else max(1, math.ceil(rate))
    except ValueError:
        raise ConfigError(_key("routes"), f"{spec!r}: {_ROUTE_FORMAT}") from None
    if not math.isfinite(rate) or rate <= 0 or burst < 1:
        raise ConfigError(
            _key("routes"), f"{spec!r}: requests per second must be > 0 and burst >= 1"
        )
    return f"{method} {template}", Rate(rate, burst)


def _key(name: str) -> str:
    return env_key(SECTION, name)


def _rate(name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigError(_key(name), f"must be a number > 0, got {value!r}")


def _count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(_key(name), f"must be an integer >= 1, got {value!r}")
