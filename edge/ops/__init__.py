"""The edge's operator endpoints: health aggregated from Consul, Prometheus metrics, what
this instance is and which services, routes and rooms it serves."""

from __future__ import annotations

from edge.ops.config import OpsConfig
from edge.ops.consul_health import CheckHealth, ConsulHealth, InstanceHealth
from edge.ops.health import HealthEndpoints, ServiceHealth
from edge.ops.info import EdgeIdentity, InfoEndpoints
from edge.ops.metrics import metrics_endpoint
from edge.ops.routes import ops_routes

__all__ = [
    "CheckHealth",
    "ConsulHealth",
    "EdgeIdentity",
    "HealthEndpoints",
    "InfoEndpoints",
    "InstanceHealth",
    "OpsConfig",
    "ServiceHealth",
    "metrics_endpoint",
    "ops_routes",
]
