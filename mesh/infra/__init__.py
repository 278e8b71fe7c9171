"""Provision, start, check and stop the real infrastructure: Consul, Kafka and nginx.

The names below load on first use, so a service importing a small module of this package
(`mesh.infra.paths`) does not pull in the components and provisioning behind them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mesh.infra.components.base import Component, NotReady, Status
    from mesh.infra.components.consul import Consul
    from mesh.infra.components.kafka import Kafka
    from mesh.infra.components.nginx import Nginx
    from mesh.infra.config import ConsulConfig, InfraConfig, KafkaConfig, NginxConfig
    from mesh.infra.errors import InfraError, PortInUseError, StartError
    from mesh.infra.stack import InfraStack

_SOURCES = {
    "Component": "mesh.infra.components.base",
    "NotReady": "mesh.infra.components.base",
    "Status": "mesh.infra.components.base",
    "Consul": "mesh.infra.components.consul",
    "Kafka": "mesh.infra.components.kafka",
    "Nginx": "mesh.infra.components.nginx",
    "ConsulConfig": "mesh.infra.config",
    "InfraConfig": "mesh.infra.config",
    "KafkaConfig": "mesh.infra.config",
    "NginxConfig": "mesh.infra.config",
    "InfraError": "mesh.infra.errors",
    "PortInUseError": "mesh.infra.errors",
    "StartError": "mesh.infra.errors",
    "InfraStack": "mesh.infra.stack",
}

__all__ = [
    "Component",
    "Consul",
    "ConsulConfig",
    "InfraConfig",
    "InfraError",
    "InfraStack",
    "Kafka",
    "KafkaConfig",
    "Nginx",
    "NginxConfig",
    "NotReady",
    "PortInUseError",
    "StartError",
    "Status",
]


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value
    return value
