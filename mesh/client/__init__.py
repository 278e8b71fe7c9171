"""The mesh client: Consul discovery, round-robin balancing, default deadlines, mTLS."""

from __future__ import annotations

from mesh.client.balancer import NoHealthyInstance, RoundRobin
from mesh.client.channel import BalancedChannel
from mesh.client.config import ClientConfig
from mesh.client.mesh_client import MeshClient

__all__ = ["BalancedChannel", "ClientConfig", "MeshClient", "NoHealthyInstance", "RoundRobin"]
