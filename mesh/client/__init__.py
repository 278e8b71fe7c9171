"""The mesh client: discovery, balancing, unary default deadlines, mTLS, the client chain."""

from __future__ import annotations

from mesh.client.balancer import NoHealthyInstance, RoundRobin
from mesh.client.channel import BalancedChannel
from mesh.client.config import ClientConfig
from mesh.client.interceptors import ClientInterceptorConfig, client_interceptors
from mesh.client.mesh_client import MeshClient, instance_channel

__all__ = [
    "BalancedChannel",
    "ClientConfig",
    "ClientInterceptorConfig",
    "MeshClient",
    "NoHealthyInstance",
    "RoundRobin",
    "client_interceptors",
    "instance_channel",
]
