"""Settings of a service's gRPC server, read once at start-up (`TRADEMESH_SERVER_*`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mesh.config import ConfigError
from mesh.infra import paths


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port; Consul tells clients which
    metrics_port: int = 0
    consul_address: str = "http://127.0.0.1:8500"
    register: bool = True
    plaintext: bool = False  # local debugging only; logged as a warning
    tls_dir: Path = field(default_factory=lambda: paths.state_dir() / "tls")
    grace_seconds: float = 10.0
    shutdown_delay_seconds: float = 1.0  # NOT_SERVING and deregistered, still accepting
    check_interval_seconds: float = 2.0
    # Consul's own gRPC health check of this instance: long enough that a busy event loop
    # is not mistaken for a dead one (the clients' breakers act on real failures first).
    check_timeout_seconds: float = 5.0
    deregister_critical_after_seconds: float = 60.0

    def __post_init__(self) -> None:
        for name in ("port", "metrics_port"):
            value = getattr(self, name)
            if not 0 <= value <= 65535:
                raise ConfigError(f"TRADEMESH_SERVER_{name.upper()}", f"{value} is not a port")
        for name in ("grace_seconds", "shutdown_delay_seconds"):
            if getattr(self, name) < 0:
                raise ConfigError(f"TRADEMESH_SERVER_{name.upper()}", "must be >= 0")
        if self.check_interval_seconds <= 0:
            raise ConfigError("TRADEMESH_SERVER_CHECK_INTERVAL_SECONDS", "must be > 0")
        if self.check_timeout_seconds <= 0:
            raise ConfigError("TRADEMESH_SERVER_CHECK_TIMEOUT_SECONDS", "must be > 0")
        if not self.consul_address.startswith(("http://", "https://")):
            raise ConfigError("TRADEMESH_SERVER_CONSUL_ADDRESS", "must be an http(s) URL")
