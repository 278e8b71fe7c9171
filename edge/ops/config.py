"""Settings of the operator endpoints: which services /health watches, how fresh it is."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mesh.config import ConfigError, env_key

SECTION = "edge"

_SERVICE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


@dataclass(frozen=True)
class OpsConfig:
    """`health_services` empty: every service the contracts call. Consul answers are reused
    for `health_cache_seconds`, so /health under load asks Consul at most once a second."""

    health_services: tuple[str, ...] = ()
    health_cache_seconds: float = 1.0
    health_consul_timeout_seconds: float = 2.0

    def __post_init__(self) -> None:
        for name in self.health_services:
            if not _SERVICE_NAME.fullmatch(name):
                raise ConfigError(
                    env_key(SECTION, "health_services"),
                    f"{name!r} is not a Consul service name (lower case letters, digits, '-')",
                )
        if not 0 <= self.health_cache_seconds <= 60:
            raise ConfigError(env_key(SECTION, "health_cache_seconds"), "must be in 0..60")
        if not 0 < self.health_consul_timeout_seconds <= 60:
            raise ConfigError(
                env_key(SECTION, "health_consul_timeout_seconds"), "must be in (0, 60]"
            )
