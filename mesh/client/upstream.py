"""Everything the client keeps about one upstream service: its instances, its retry budget,
its bulkheads and the settings its calls follow."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import grpc

from mesh.client.balancing import strategy_named
from mesh.client.config import ClientConfig
from mesh.client.pool import ChannelFactory, InstancePool, InstanceState
from mesh.resilience.budget import RetryBudget
from mesh.resilience.bulkhead import Bulkhead
from mesh.resilience.window import Clock


@dataclass
class UpstreamCounters:
    retries: int = 0
    retries_refused: int = 0  # the budget said no


@dataclass(frozen=True)
class UpstreamState:
    """An upstream as operators see it (the edge's /health, metrics)."""

    service: str
    balancer: str
    instances: list[InstanceState]
    calls_in_flight: int
    streams_in_flight: int
    retries: int
    budget_exhausted: int
    shed: int
    ejections: int
    extra: dict[str, int] = field(default_factory=dict)


class Upstream:
    def __init__(
        self,
        service: str,
        factory: ChannelFactory,
        config: ClientConfig,
        clock: Clock = time.monotonic,
    ) -> None:
        self.service = service
        self.config = config
        self.retry = config.retry
        self.balancer = config.balancer_for(service)
        self.default_timeout_seconds = config.default_timeout_seconds
        self.pool = InstancePool(
            service,
            factory,
            strategy_named(self.balancer, "TRADEMESH_CLIENT_BALANCERS"),
            config.breaker,
            clock,
        )
        r = config.retry
        self.budget = RetryBudget(
            r.budget_ratio, r.budget_min_retries_per_second, r.budget_window_seconds, clock
        )
        self.calls = Bulkhead(config.bulkhead.max_concurrent_calls)
        self.streams = Bulkhead(config.bulkhead.max_concurrent_streams)
        self.counters = UpstreamCounters()

    def shed_error(self, bulkhead: Bulkhead, what: str) -> grpc.aio.AioRpcError:
        return grpc.aio.AioRpcError(
            code=grpc.StatusCode.RESOURCE_EXHAUSTED,
            initial_metadata=grpc.aio.Metadata(),
            trailing_metadata=grpc.aio.Metadata(),
            details=(
                f"too many {what} in flight to {self.service!r}: {bulkhead.in_flight} "
                f"(the bulkhead's limit is {bulkhead.limit}); shed at once"
            ),
        )

    def state(self) -> UpstreamState:
        return UpstreamState(
            service=self.service,
            balancer=self.balancer,
            instances=self.pool.states(),
            calls_in_flight=self.calls.in_flight,
            streams_in_flight=self.streams.in_flight,
            retries=self.counters.retries,
            budget_exhausted=self.budget.exhausted,
            shed=self.calls.shed + self.streams.shed,
            ejections=self.pool.counters.ejections,
            extra={
                "ejections_refused": self.pool.counters.ejections_refused,
                "probes": self.pool.counters.probes,
                "panics": self.pool.counters.panics,
            },
        )
