"""Settings of the mesh client (`[client]`, with `[retry]`, `[breaker]` and `[bulkhead]`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mesh.client.balancing import STRATEGIES
from mesh.config import ConfigError, env_key, load_section
from mesh.resilience.config import BreakerConfig, BulkheadConfig, RetryConfig, parse_overrides


@dataclass(frozen=True)
class ClientConfig:
    """`default_timeout_seconds` bounds unary calls made without a deadline; streams get no
    default deadline. `balancer` is how calls are spread over an upstream's instances
    (round_robin, least_request or peak_ewma); `balancers` sets it per upstream:
    `("marketdata=peak_ewma",)`."""

    consul_address: str = "http://127.0.0.1:8500"
    default_timeout_seconds: float = 5.0
    discovery_wait_seconds: float = 30.0
    first_discovery_timeout_seconds: float = 10.0
    plaintext: bool = False
    balancer: str = "round_robin"
    balancers: tuple[str, ...] = ()
    retry: RetryConfig = field(default_factory=RetryConfig)
    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    bulkhead: BulkheadConfig = field(default_factory=BulkheadConfig)

    def __post_init__(self) -> None:
        if self.default_timeout_seconds <= 0:
            raise ConfigError("TRADEMESH_CLIENT_DEFAULT_TIMEOUT_SECONDS", "must be > 0")
        if not 1 <= self.discovery_wait_seconds <= 300:
            raise ConfigError("TRADEMESH_CLIENT_DISCOVERY_WAIT_SECONDS", "must be in 1..300")
        if not self.consul_address.startswith(("http://", "https://")):
            raise ConfigError("TRADEMESH_CLIENT_CONSUL_ADDRESS", "must be an http(s) URL")
        if self.balancer not in STRATEGIES:
            raise ConfigError(
                "TRADEMESH_CLIENT_BALANCER",
                f"unknown balancer {self.balancer!r}; one of {sorted(STRATEGIES)}",
            )
        for service, name in self._balancers.items():
            if name not in STRATEGIES:
                raise ConfigError(
                    "TRADEMESH_CLIENT_BALANCERS",
                    f"{service}: unknown balancer {name!r}; one of {sorted(STRATEGIES)}",
                )

    @property
    def _balancers(self) -> dict[str, object]:
        return parse_overrides(self.balancers, "TRADEMESH_CLIENT_BALANCERS")

    def balancer_for(self, service: str) -> str:
        return str(self._balancers.get(service, self.balancer))


_SECTIONS = ("retry", "breaker", "bulkhead")


def load_client_config(
    toml: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ClientConfig:
    """`[client]` with its `[retry]`, `[breaker]` and `[bulkhead]` sections, each from the
    TOML tables and `TRADEMESH_<SECTION>_*` (environment wins; `overrides` win over both)."""
    table = (toml or {}).get("client", {})
    env = os.environ if environ is None else environ
    for name in _SECTIONS:
        if isinstance(table, Mapping) and name in table:
            raise ConfigError(f"[client] {name}", f"set it in the top-level [{name}] table")
        if env_key("client", name) in env:
            raise ConfigError(
                env_key("client", name), f"set its keys as TRADEMESH_{name.upper()}_<KEY>"
            )
    client = load_section(ClientConfig, "client", environ=environ, toml=toml, overrides=overrides)
    return replace(
        client,
        retry=load_section(RetryConfig, "retry", environ=environ, toml=toml),
        breaker=load_section(BreakerConfig, "breaker", environ=environ, toml=toml),
        bulkhead=load_section(BulkheadConfig, "bulkhead", environ=environ, toml=toml),
    )
