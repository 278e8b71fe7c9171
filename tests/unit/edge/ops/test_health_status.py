"""Health from Consul's entries: an instance is as good as its worst check; a service is
healthy, degraded or unhealthy by how many instances pass; the whole by its worst service."""

from __future__ import annotations

from typing import Any

import pytest

from edge.ops.consul_health import InstanceHealth
from edge.ops.health import DEGRADED, HEALTHY, UNHEALTHY, ServiceHealth, worst


def _entry(instance_id: str, *statuses: str) -> dict[str, Any]:
    return {
        "Node": {"Node": "node-1", "Address": "10.0.0.9"},
        "Service": {"ID": instance_id, "Service": "trading", "Address": "", "Port": 5001},
        "Checks": [
            {"CheckID": f"c{n}", "Name": f"check {n}", "Status": s} for n, s in enumerate(statuses)
        ],
    }


def test_an_instance_is_read_from_a_health_entry() -> None:
    instance = InstanceHealth.from_entry(_entry("trading-1", "passing", "warning"))
    assert (instance.instance_id, instance.node, instance.host, instance.port) == (
        "trading-1",
        "node-1",
        "10.0.0.9",  # the node's address when the service gives none
        5001,
    )
    assert [c.name for c in instance.checks] == ["check 0", "check 1"]


@pytest.mark.parametrize(
    ("statuses", "status", "passing"),
    [
        ((), "passing", True),
        (("passing", "passing"), "passing", True),
        (("passing", "warning"), "warning", False),
        (("warning", "critical"), "critical", False),
        (("passing", "maintenance?"), "critical", False),  # an unknown state is not passing
    ],
)
def test_an_instance_is_as_good_as_its_worst_check(
    statuses: tuple[str, ...], status: str, passing: bool
) -> None:
    instance = InstanceHealth.from_entry(_entry("i", *statuses))
    assert instance.status == status
    assert instance.passing is passing


def _service(*instances: tuple[str, ...], error: str = "") -> ServiceHealth:
    return ServiceHealth(
        "trading",
        tuple(InstanceHealth.from_entry(_entry(f"i{n}", *s)) for n, s in enumerate(instances)),
        error=error,
    )


@pytest.mark.parametrize(
    ("service", "status", "passing", "total"),
    [
        (_service(("passing",), ("passing",)), HEALTHY, 2, 2),
        (_service(("passing",), ("critical",)), DEGRADED, 1, 2),
        (_service(("passing",), ("warning",)), DEGRADED, 1, 2),
        (_service(("critical",), ("warning",)), UNHEALTHY, 0, 2),
        (_service(), UNHEALTHY, 0, 0),
        (_service(error="consul unreachable"), UNHEALTHY, 0, 0),
    ],
)
def test_a_service_by_how_many_instances_pass(
    service: ServiceHealth, status: str, passing: int, total: int
) -> None:
    assert (service.status, service.passing, service.total) == (status, passing, total)
    assert service.summary()["status"] == status


def test_the_whole_is_its_worst_part() -> None:
    assert worst([HEALTHY, DEGRADED, HEALTHY]) == DEGRADED
    assert worst([DEGRADED, UNHEALTHY]) == UNHEALTHY
    assert worst([]) == HEALTHY


def test_detail_lists_each_instance_with_its_checks() -> None:
    detail = _service(("passing",), ("passing", "critical")).detail()
    assert detail["status"] == DEGRADED
    assert detail["instances"][1] == {
        "id": "i1",
        "address": "10.0.0.9",
        "port": 5001,
        "node": "node-1",
        "status": "critical",
        "checks": [
            {"name": "check 0", "status": "passing"},
            {"name": "check 1", "status": "critical"},
        ],
    }
