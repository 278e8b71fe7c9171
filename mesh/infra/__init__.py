"""Provision, start, check and stop the real infrastructure: Consul, Kafka and nginx."""

from __future__ import annotations

from mesh.infra.components.base import Component, NotReady, Status
from mesh.infra.components.consul import Consul
from mesh.infra.components.kafka import Kafka
from mesh.infra.components.nginx import Nginx
from mesh.infra.config import ConsulConfig, InfraConfig, KafkaConfig, NginxConfig
from mesh.infra.errors import InfraError, PortInUseError, StartError
from mesh.infra.stack import InfraStack

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
