"""The mesh client's view of the services the edge calls, as /health shows it next to Consul's:
each instance's breaker, calls in flight, ejections and latency estimate, and the upstream's
balancer, retries, spent retry budget and shed calls."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from mesh.client import InstanceState, UpstreamState
from mesh.client.metrics import live_clients

UpstreamSource = Callable[[], Sequence[UpstreamState]]

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
# Worst first wins when two clients of one process disagree about an instance.
_BREAKER_RANK = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


def process_upstreams() -> list[UpstreamState]:
    """The upstreams of every live mesh client of this process (an edge has one), merged per
    service: the same client the resilience metrics are read from."""
    return merge(state for client in list(live_clients) for state in client.upstream_states())


def merge(states: Iterable[UpstreamState]) -> list[UpstreamState]:
    """One state per service, in service order: counters summed, each instance at its worst
    breaker with its calls in flight and ejections summed."""
    by_service: dict[str, UpstreamState] = {}
    for state in states:
        seen = by_service.get(state.service)
        by_service[state.service] = state if seen is None else _merged(seen, state)
    return [by_service[s] for s in sorted(by_service)]


def _merged(a: UpstreamState, b: UpstreamState) -> UpstreamState:
    instances = {i.instance_id: i for i in a.instances}
    for inst in b.instances:
        seen = instances.get(inst.instance_id)
        instances[inst.instance_id] = (
            inst
            if seen is None
            else replace(
                seen,
                breaker=max(seen.breaker, inst.breaker, key=_BREAKER_RANK.__getitem__),
                in_flight=seen.in_flight + inst.in_flight,
                ejections=seen.ejections + inst.ejections,
                latency_ms=max(seen.latency_ms, inst.latency_ms),
            )
        )
    extra = dict(a.extra)
    for key, value in b.extra.items():
        extra[key] = extra.get(key, 0) + value
    return replace(
        a,
        instances=[instances[i] for i in sorted(instances)],
        calls_in_flight=a.calls_in_flight + b.calls_in_flight,
        streams_in_flight=a.streams_in_flight + b.streams_in_flight,
        retries=a.retries + b.retries,
        budget_exhausted=a.budget_exhausted + b.budget_exhausted,
        shed=a.shed + b.shed,
        ejections=a.ejections + b.ejections,
        extra=extra,
    )


def serving(state: UpstreamState) -> int:
    """Instances the client sends calls to as a matter of course: breaker closed."""
    return sum(1 for i in state.instances if i.breaker == CLOSED)


def summary(state: UpstreamState) -> dict[str, Any]:
    """What /health shows of an upstream at a glance: each instance's breaker by id."""
    return {
        "balancer": state.balancer,
        "breakers": {i.instance_id: i.breaker for i in state.instances},
        "retries": state.retries,
        "budgetExhausted": state.budget_exhausted,
        "shed": state.shed,
    }


def detail(state: UpstreamState) -> dict[str, Any]:
    """What /health/{service} shows of an upstream as a whole (its instances are shown with
    Consul's, see `instance_detail`)."""
    return {
        "balancer": state.balancer,
        "callsInFlight": state.calls_in_flight,
        "streamsInFlight": state.streams_in_flight,
        "retries": state.retries,
        "budgetExhausted": state.budget_exhausted,
        "shed": state.shed,
        "ejections": state.ejections,
        **{_camel(k): v for k, v in sorted(state.extra.items())},
    }


def instance_detail(inst: InstanceState) -> dict[str, Any]:
    return {
        "breaker": inst.breaker,
        "inFlight": inst.in_flight,
        "ejections": inst.ejections,
        "latencyMs": inst.latency_ms,
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
