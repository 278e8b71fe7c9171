"""Runtime tests share the session's real Consul; the mesh CA lives beside its state."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.infra import Consul
from mesh.server import ServerConfig
from mesh.tls import ServiceCredentials, TlsConfig, load_service_credentials


@pytest.fixture
def tls_dir(consul: Consul) -> Path:
    return consul.state_dir / "tls"


@pytest.fixture
def server_config(consul: Consul, tls_dir: Path) -> ServerConfig:
    return ServerConfig(
        consul_address=consul.address,
        tls_dir=tls_dir,
        shutdown_delay_seconds=0.5,
        check_interval_seconds=0.5,
    )


def credentials(tls_dir: Path, name: str) -> ServiceCredentials:
    return load_service_credentials(TlsConfig(tls_dir), name)
