"""Settings of contract discovery: how often the edge re-reads each service's reflection."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mesh.config import ConfigError, env_key, load_section

SECTION = "edge_discovery"


@dataclass(frozen=True)
class DiscoveryConfig:
    """`refresh_seconds`: every service's reflection is re-read this often, besides on each
    change Consul reports; `fetch_timeout_seconds` bounds one service's fetch;
    `consul_wait_seconds` is how long one blocking query to Consul may wait."""

    enabled: bool = True
    refresh_seconds: float = 30.0
    fetch_timeout_seconds: float = 5.0
    consul_wait_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not 0.1 <= self.refresh_seconds <= 86_400:
            raise ConfigError(env_key(SECTION, "refresh_seconds"), "must be in 0.1..86400")
        if not 0.1 <= self.fetch_timeout_seconds <= 300:
            raise ConfigError(env_key(SECTION, "fetch_timeout_seconds"), "must be in 0.1..300")
        if not 1 <= self.consul_wait_seconds <= 300:
            raise ConfigError(env_key(SECTION, "consul_wait_seconds"), "must be in 1..300")

    @classmethod
    def load(
        cls, *, environ: Mapping[str, str] | None = None, toml: Mapping[str, Any] | None = None
    ) -> DiscoveryConfig:
        return load_section(cls, SECTION, environ=environ, toml=toml)
