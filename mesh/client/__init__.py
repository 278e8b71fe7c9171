"""The mesh client: discovery, balancing, retries, circuit breakers, bulkheads, deadlines,
mTLS, the client chain."""

from __future__ import annotations

from mesh.client.channel import BalancedChannel
from mesh.client.config import ClientConfig, load_client_config
from mesh.client.interceptors import ClientInterceptorConfig, client_interceptors
from mesh.client.mesh_client import MeshClient, instance_channel
from mesh.client.pool import InstancePool, InstanceState, NoHealthyInstance
from mesh.client.upstream import Upstream, UpstreamState

__all__ = [
    "BalancedChannel",
    "ClientConfig",
    "ClientInterceptorConfig",
    "InstancePool",
    "InstanceState",
    "MeshClient",
    "NoHealthyInstance",
    "Upstream",
    "UpstreamState",
    "client_interceptors",
    "instance_channel",
    "load_client_config",
]
