"""Contracts learned at run time: each mesh service's gRPC server reflection, read again when
Consul sees a change and on a timer, replacing the compiled-in descriptors."""

from __future__ import annotations

from edge.discovery.catalog import Connector, ContractCatalog
from edge.discovery.config import DiscoveryConfig
from edge.discovery.consul_checks import MeshService, mesh_services
from edge.discovery.pool import PoolError, build_pool
from edge.discovery.reflection import Reflection, ReflectionError, fetch

__all__ = [
    "Connector",
    "ContractCatalog",
    "DiscoveryConfig",
    "MeshService",
    "PoolError",
    "Reflection",
    "ReflectionError",
    "build_pool",
    "fetch",
    "mesh_services",
]
