"""The resilience layer's per-call decisions, in ns per operation, without any network.

Pools are built over dummy channels (nothing is called on them); every case runs `number`
times per round, the cases interleaved round after round so drift in the machine's speed
falls on all of them alike; the median and best round are printed.
"""

from __future__ import annotations

import statistics
import timeit
from typing import Any, cast

import grpc

from mesh.client.balancing import STRATEGIES, strategy_named
from mesh.client.pool import InstancePool
from mesh.discovery import Instance
from mesh.resilience.breaker import CLOSED, OPEN, CircuitBreaker
from mesh.resilience.budget import RetryBudget
from mesh.resilience.bulkhead import Bulkhead
from mesh.resilience.config import BreakerConfig, BulkheadConfig, RetryConfig

Case = tuple[str, str, dict[str, Any]]  # name, statement, globals


def dummy_channel(instance: Instance) -> grpc.aio.Channel:
    return cast(grpc.aio.Channel, object())


def pool(balancer: str, size: int, ejected: int = 0) -> InstancePool:
    built = InstancePool(
        "bench", dummy_channel, strategy_named(balancer, "balancer"), BreakerConfig()
    )
    built.update([Instance(f"bench-{i}", "127.0.0.1", 50000 + i) for i in range(size)])
    for endpoint in {built.pick() for _ in range(size * 4)}:
        if ejected == 0:
            break
        for _ in range(BreakerConfig().consecutive_failures):
            built.failed(endpoint, 0.001)
        assert endpoint.breaker.state is OPEN, "the ejection cap kept the instance in"
        ejected -= 1
    assert ejected == 0
    return built


def budget() -> RetryBudget:
    r = RetryConfig()
    made = RetryBudget(r.budget_ratio, r.budget_min_retries_per_second, r.budget_window_seconds)
    for _ in range(1000):
        made.record_request()
    return made


def cases() -> list[Case]:
    table: list[Case] = []
    for balancer in STRATEGIES:
        for size in (2, 10):
            for ejected in (0, 1):
                name = f"pick + succeeded  {balancer:13} {size:2} inst"
                name += ", 1 ejected" if ejected else ""
                env = {"pool": pool(balancer, size, ejected)}
                table.append((name, "e = pool.pick(); pool.succeeded(e, 0.002)", env))
    breaker = CircuitBreaker(BreakerConfig())
    table.append(("CircuitBreaker.success()", "b.success()", {"b": breaker}))
    # consecutive is reset so the breaker stays closed and failure() takes its longest path
    # (the failure-rate check over the window).
    breaker = CircuitBreaker(BreakerConfig())
    table.append(("CircuitBreaker.failure()", "b.failure(); b.consecutive = 0", {"b": breaker}))
    table.append(("RetryBudget.record_request()", "b.record_request()", {"b": budget()}))
    table.append(("RetryBudget.try_spend()", "b.try_spend()", {"b": budget()}))
    bulkhead = Bulkhead(BulkheadConfig().max_concurrent_calls)
    table.append(("Bulkhead.try_enter() + leave()", "b.try_enter(); b.leave()", {"b": bulkhead}))
    # Everything UnaryCall does around one successful attempt but the grpc call itself.
    whole_env: dict[str, Any] = {
        "pool": pool("round_robin", 2),
        "budget": budget(),
        "calls": bulkhead,
    }
    whole = (
        "calls.try_enter(); budget.record_request(); e = pool.pick(); pool.started(e); "
        "pool.succeeded(e, 0.002); pool.ended(e); calls.leave()"
    )
    table.append(("a unary call's bookkeeping, all of it (round_robin, 2 inst)", whole, whole_env))
    return table


def run(rounds: int, number: int) -> None:
    table = cases()
    timers = [(name, timeit.Timer(stmt, globals=env)) for name, stmt, env in table]
    for _, timer in timers:
        timer.timeit(number // 10 or 1)
    samples: dict[str, list[float]] = {name: [] for name, _ in timers}
    for _ in range(rounds):
        for name, timer in timers:
            samples[name].append(timer.timeit(number) / number * 1e9)
    for name, _, env in table:
        if "pool" in env:
            closed = sum(s.breaker == CLOSED.value for s in env["pool"].states())
            assert closed >= 1, f"{name}: the benchmark opened a breaker"

    print(f"\nMicrobenchmarks: {rounds} interleaved rounds of {number} operations, ns per op")
    print(f"{'':62} {'median':>8} {'best':>8}")
    for name, values in samples.items():
        print(f"{name:62} {statistics.median(values):8.0f} {min(values):8.0f}")
