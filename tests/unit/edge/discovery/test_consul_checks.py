"""Mesh services recognised in Consul's checks: those with a gRPC health check."""

from __future__ import annotations

from typing import Any

from edge.discovery.consul_checks import MeshService, mesh_services


def _check(service: str, instance: str, status: str, kind: str = "grpc") -> dict[str, Any]:
    return {"ServiceName": service, "ServiceID": instance, "Status": status, "Type": kind}


def test_services_with_grpc_checks_are_mesh_services_with_each_instance_status() -> None:
    checks = [
        {"ServiceName": "", "ServiceID": "", "Status": "passing", "Type": ""},  # serfHealth
        _check("trading", "trading-1", "passing"),
        _check("trading", "trading-2", "critical"),
        _check("portfolio", "portfolio-1", "critical"),
        _check("web", "web-1", "passing", kind="http"),
        _check("legacy", "legacy-1", "passing", kind="ttl"),
    ]
    services = mesh_services(checks)
    assert services == {
        "trading": MeshService(
            "trading", frozenset({("trading-1", "passing"), ("trading-2", "critical")})
        ),
        "portfolio": MeshService("portfolio", frozenset({("portfolio-1", "critical")})),
    }
    assert services["trading"].healthy
    assert not services["portfolio"].healthy


def test_a_status_change_is_a_different_view() -> None:
    before = mesh_services([_check("trading", "trading-1", "critical")])
    after = mesh_services([_check("trading", "trading-1", "passing")])
    assert before != after
