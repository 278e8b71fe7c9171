"""Settings of the mesh client."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.config import ConfigError


@dataclass(frozen=True)
class ClientConfig:
    """`default_timeout_seconds` bounds unary calls made without a deadline; streams get no
    default deadline."""

    consul_address: str = "http://127.0.0.1:8500"
    default_timeout_seconds: float = 5.0
    discovery_wait_seconds: float = 30.0
    first_discovery_timeout_seconds: float = 10.0
    plaintext: bool = False

    def __post_init__(self) -> None:
        if self.default_timeout_seconds <= 0:
            raise ConfigError("TRADEMESH_CLIENT_DEFAULT_TIMEOUT_SECONDS", "must be > 0")
        if not 1 <= self.discovery_wait_seconds <= 300:
            raise ConfigError("TRADEMESH_CLIENT_DISCOVERY_WAIT_SECONDS", "must be in 1..300")
        if not self.consul_address.startswith(("http://", "https://")):
            raise ConfigError("TRADEMESH_CLIENT_CONSUL_ADDRESS", "must be an http(s) URL")
