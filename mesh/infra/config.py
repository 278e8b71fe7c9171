"""Typed settings of the local infrastructure: ports and places, read once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesh.config import ConfigError, load_section
from mesh.infra import paths


def _check_port(section: str, name: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise ConfigError(f"TRADEMESH_{section}_{name}".upper(), f"{port} is not a TCP port")


@dataclass(frozen=True)
class ConsulConfig:
    http_port: int = 8500
    serf_lan_port: int = 8301
    server_port: int = 8300
    datacenter: str = "dc1"

    def __post_init__(self) -> None:
        for name in ("http_port", "serf_lan_port", "server_port"):
            _check_port("consul", name, getattr(self, name))

    @property
    def http_address(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


@dataclass(frozen=True)
class KafkaConfig:
    port: int = 9092
    controller_port: int = 9093
    heap_mb: int = 512

    def __post_init__(self) -> None:
        _check_port("kafka", "port", self.port)
        _check_port("kafka", "controller_port", self.controller_port)
        if not 128 <= self.heap_mb <= 512:
            raise ConfigError("TRADEMESH_KAFKA_HEAP_MB", f"{self.heap_mb} is outside 128..512")

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass(frozen=True)
class NginxConfig:
    port: int = 8080
    edge_ports: tuple[int, ...] = (8001, 8002)
    rate_per_second: int = 50
    burst: int = 100
    client_max_body_kb: int = 1024

    def __post_init__(self) -> None:
        _check_port("nginx", "port", self.port)
        if not self.edge_ports:
            raise ConfigError("TRADEMESH_NGINX_EDGE_PORTS", "at least one edge port is needed")
        for port in self.edge_ports:
            _check_port("nginx", "edge_ports", port)
        if self.rate_per_second < 1 or self.burst < 0:
            raise ConfigError("TRADEMESH_NGINX_RATE_PER_SECOND", "rate must be >= 1, burst >= 0")


@dataclass(frozen=True)
class ServicesConfig:
    grpc_base_port: int = 7100
    metrics_base_port: int = 9100

    def __post_init__(self) -> None:
        _check_port("services", "grpc_base_port", self.grpc_base_port + 1)
        _check_port("services", "metrics_base_port", self.metrics_base_port + 1)


@dataclass(frozen=True)
class InfraConfig:
    state_dir: Path = field(default_factory=paths.state_dir)
    consul: ConsulConfig = field(default_factory=ConsulConfig)
    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    nginx: NginxConfig = field(default_factory=NginxConfig)
    services: ServicesConfig = field(default_factory=ServicesConfig)

    @classmethod
    def load(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        toml: Mapping[str, Any] | None = None,
        state_dir: Path | None = None,
    ) -> InfraConfig:
        return cls(
            state_dir=state_dir or paths.state_dir(),
            consul=load_section(ConsulConfig, "consul", environ=environ, toml=toml),
            kafka=load_section(KafkaConfig, "kafka", environ=environ, toml=toml),
            nginx=load_section(NginxConfig, "nginx", environ=environ, toml=toml),
            services=load_section(ServicesConfig, "services", environ=environ, toml=toml),
        )
