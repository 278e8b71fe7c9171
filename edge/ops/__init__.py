"""The edge's operator endpoints: health aggregated from Consul and the mesh client's
breakers, Prometheus metrics, what this instance is and which services, routes and rooms it
serves."""

from __future__ import annotations

from edge.ops.config import OpsConfig
from edge.ops.consul_health import CheckHealth, ConsulHealth, InstanceHealth
from edge.ops.health import HealthEndpoints, ServiceHealth
from edge.ops.info import EdgeIdentity, InfoEndpoints
from edge.ops.metrics import metrics_endpoint
from edge.ops.routes import ops_routes
from edge.ops.upstreams import UpstreamSource, process_upstreams

__all__ = [
    "CheckHealth",
    "ConsulHealth",
    "EdgeIdentity",
    "HealthEndpoints",
    "InfoEndpoints",
    "InstanceHealth",
    "OpsConfig",
    "ServiceHealth",
    "UpstreamSource",
    "metrics_endpoint",
    "ops_routes",
    "process_upstreams",
]
