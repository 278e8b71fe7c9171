"""Resilience as Prometheus metrics, read from the live mesh clients at scrape time.

Nothing is counted on the call path but plain integers in the pools and bulkheads; this
collector turns them into metric families when Prometheus asks, summed over the clients of
the process (one, outside tests).
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from mesh.client.mesh_client import MeshClient

# The breaker state gauge's values.
BREAKER_VALUES: dict[str, int] = {"closed": 0, "half_open": 1, "open": 2}

live_clients: weakref.WeakSet[MeshClient] = weakref.WeakSet()


class ResilienceCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        breaker = GaugeMetricFamily(
            "mesh_client_breaker_state",
            "Circuit breaker of each upstream instance: 0 closed, 1 half-open, 2 open",
            labels=["upstream", "instance", "address"],
        )
        in_flight = GaugeMetricFamily(
            "mesh_client_in_flight",
            "Calls and streams in flight to each upstream (what its bulkheads cap)",
            labels=["upstream", "kind"],
        )
        counters = {
            name: CounterMetricFamily(f"mesh_client_{name}", text, labels=["upstream"])
            for name, text in (
                ("ejections", "Instances ejected by their circuit breaker"),
                ("retries", "Calls sent again after a failure"),
                ("retry_budget_exhausted", "Retries refused because the retry budget was spent"),
                ("shed", "Calls and streams refused by a full bulkhead"),
                ("probes", "Half-open probes sent to ejected instances"),
            )
        }
        totals: dict[tuple[str, str], int] = defaultdict(int)
        flights: dict[tuple[str, str], int] = defaultdict(int)
        states: dict[tuple[str, str, str], int] = {}
        for client in list(live_clients):
            for up in client.upstream_states():
                totals[("ejections", up.service)] += up.ejections
                totals[("retries", up.service)] += up.retries
                totals[("retry_budget_exhausted", up.service)] += up.budget_exhausted
                totals[("shed", up.service)] += up.shed
                totals[("probes", up.service)] += up.extra.get("probes", 0)
                flights[(up.service, "calls")] += up.calls_in_flight
                flights[(up.service, "streams")] += up.streams_in_flight
                for inst in up.instances:
                    key = (up.service, inst.instance_id, inst.address)
                    states[key] = max(states.get(key, 0), BREAKER_VALUES[inst.breaker])
        for (name, service), value in totals.items():
            counters[name].add_metric([service], value)
        for (service, kind), value in flights.items():
            in_flight.add_metric([service, kind], value)
        for labels, value in states.items():
            breaker.add_metric(list(labels), value)
        yield breaker
        yield in_flight
        yield from counters.values()


REGISTRY.register(ResilienceCollector())
