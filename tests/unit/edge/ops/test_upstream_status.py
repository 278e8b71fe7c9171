"""A service's status from Consul's view and the mesh client's together: any breaker not
closed degrades it, every breaker open too; Consul unreachable leaves it degraded while the
client still calls an instance on a closed breaker. Two clients' views merge per service."""

from __future__ import annotations

import pytest

from edge.ops.consul_health import CheckHealth, InstanceHealth
from edge.ops.health import DEGRADED, HEALTHY, UNHEALTHY, ServiceHealth
from edge.ops.upstreams import merge
from mesh.client import InstanceState, UpstreamState


def _consul(*statuses: str) -> tuple[InstanceHealth, ...]:
    return tuple(
        InstanceHealth(f"i{n}", "node", "10.0.0.1", 5000 + n, (CheckHealth("c", "grpc", s),))
        for n, s in enumerate(statuses)
    )


def _upstream(*breakers: str, retries: int = 0) -> UpstreamState:
    return UpstreamState(
        service="trading",
        balancer="round_robin",
        instances=[
            InstanceState(f"i{n}", f"10.0.0.1:{5000 + n}", b, n, 1 if b != "closed" else 0, 1.5)
            for n, b in enumerate(breakers)
        ],
        calls_in_flight=0,
        streams_in_flight=0,
        retries=retries,
        budget_exhausted=0,
        shed=0,
        ejections=sum(1 for b in breakers if b != "closed"),
        extra={"probes": 1},
    )


@pytest.mark.parametrize(
    ("consul", "breakers", "error", "status"),
    [
        (("passing", "passing"), None, "", HEALTHY),  # the client has not called it yet
        (("passing", "passing"), ("closed", "closed"), "", HEALTHY),
        (("passing", "passing"), ("closed", "open"), "", DEGRADED),
        (("passing", "passing"), ("closed", "half_open"), "", DEGRADED),
        (("passing", "passing"), ("open", "open"), "", DEGRADED),  # calls still go to them
        (("passing", "critical"), ("closed",), "", DEGRADED),
        (("critical", "critical"), ("closed", "closed"), "", UNHEALTHY),
        ((), ("closed", "open"), "consul unavailable", DEGRADED),  # last known instances
        ((), ("open", "half_open"), "consul unavailable", UNHEALTHY),
        ((), None, "consul unavailable", UNHEALTHY),
    ],
)
def test_status_of_consul_and_client_views(
    consul: tuple[str, ...], breakers: tuple[str, ...] | None, error: str, status: str
) -> None:
    upstream = None if breakers is None else _upstream(*breakers)
    health = ServiceHealth("trading", _consul(*consul), error=error, upstream=upstream)
    assert health.status == status


def test_an_instance_consul_does_not_list_is_shown_from_the_client() -> None:
    health = ServiceHealth("trading", (), error="consul unavailable", upstream=_upstream("closed"))
    doc = health.detail()
    assert doc["instances"] == [
        {
            "id": "i0",
            "address": "10.0.0.1",
            "port": 5000,
            "status": "unknown",
            "breaker": "closed",
            "inFlight": 0,
            "ejections": 0,
            "latencyMs": 1.5,
        }
    ]
    assert doc["client"]["probes"] == 1


def test_two_clients_views_merge_per_service_at_the_worst_breaker() -> None:
    a = _upstream("closed", "closed", retries=2)
    b = _upstream("closed", "open", retries=3)
    (merged,) = merge([a, b])
    assert [i.breaker for i in merged.instances] == ["closed", "open"]
    assert [i.in_flight for i in merged.instances] == [0, 2]
    assert (merged.retries, merged.ejections, merged.extra["probes"]) == (5, 1, 2)
