"""Service discovery through Consul: registration with gRPC health checks, and health watches."""

from __future__ import annotations

from mesh.discovery.consul import ConsulClient, ConsulError
from mesh.discovery.registration import Instance, Registration
from mesh.discovery.watcher import HealthWatcher

__all__ = ["ConsulClient", "ConsulError", "HealthWatcher", "Instance", "Registration"]
