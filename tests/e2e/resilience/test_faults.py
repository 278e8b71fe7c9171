"""Faults injected into real processes under a steady load of reads through the edge: an
instance killed, an instance frozen then resumed, every service restarted in turn. Each
prints (and appends to $TRADEMESH_FAULTS_REPORT) its figure: how many requests failed of how
many, and how long after the fault the last one failed."""

from __future__ import annotations

import asyncio
import time

from tests.conftest import eventually
from tests.e2e._platform import SERVICES
from tests.e2e.resilience._faults import (
    breaker_states,
    client_counters,
    frozen,
    grown,
    handled,
    instance_of,
    metrics_url,
    passing_pids,
)
from tests.e2e.resilience._load import (
    LoadConfig,
    between,
    ended_before,
    failures,
    report,
    since,
    statuses,
)
from tests.e2e.resilience._mesh import (
    CONSECUTIVE_FAILURES,
    GRPC_SERVICES,
    REPLICATED,
    RETRY_BUDGET_MIN_PER_SECOND,
    RETRY_BUDGET_WINDOW_SECONDS,
    Mesh,
)

RATE = 40.0  # requests per second, half to each replicated service
WARMUP_SECONDS = 3.0
# After this long a fault has been noticed (a breaker opened or Consul dropped the instance)
# and no request may fail any more.
SETTLE_SECONDS = 5.0
FROZEN_SECONDS = 10.0


async def whole(mesh: Mesh) -> None:
    """Every replica of the replicated services passing in Consul."""
    for name in REPLICATED:
        wanted = {process.pid for process in mesh.platform.instances[name]}

        async def passing(name: str = name, wanted: set[int] = wanted) -> bool:
            return await passing_pids(mesh.platform.consul, name) == wanted

        await eventually(passing, timeout=60, what=f"every {name} replica passing")


async def test_killed_instances_cost_no_more_than_the_retry_budget(mesh: Mesh) -> None:
    await whole(mesh)
    edge = mesh.gateway.edge_url(0)
    load = mesh.load(LoadConfig(rate_per_second=RATE, max_duration_seconds=60))
    killed = [("marketdata", 1), ("portfolio", 1)]
    down: list[tuple[str, int]] = []
    try:
        async with load.running():
            await asyncio.sleep(WARMUP_SECONDS)
            counted = await client_counters(edge)
            fault_at = time.monotonic()
            for name, replica in killed:
                await mesh.platform.kill(name, replica)
                down.append((name, replica))
            await asyncio.sleep(SETTLE_SECONDS + 5.0)
            counts = grown(counted, await client_counters(edge))
    finally:
        for name, replica in down:
            await mesh.platform.launch(name, replica)
    samples = load.samples
    report("SIGKILL marketdata+portfolio instance", since(samples, fault_at), fault_at, counts)
    assert failures(ended_before(samples, fault_at)) == 0, statuses(samples, fault_at)
    # Until its breaker opens (CONSECUTIVE_FAILURES in a row) or Consul drops it, a killed
    # instance fails at most that many first attempts, each at once (connection refused):
    # UNAVAILABLE, retried on the other instance. Each upstream's retry budget always allows
    # RETRY_BUDGET_MIN_PER_SECOND x RETRY_BUDGET_WINDOW_SECONDS retries, so a request fails
    # only for first attempts beyond that: none.
    allowed = len(killed) * max(
        0, CONSECUTIVE_FAILURES - int(RETRY_BUDGET_MIN_PER_SECOND * RETRY_BUDGET_WINDOW_SECONDS)
    )
    failed = [s for s in since(samples, fault_at) if s.failed]
    assert len(failed) <= allowed, statuses(failed, fault_at)
    assert failures(samples, fault_at + SETTLE_SECONDS) == 0, statuses(failed, fault_at)


async def test_frozen_instance_is_ejected_then_used_again(mesh: Mesh) -> None:
    await whole(mesh)
    target = mesh.platform.instances["marketdata"][1]
    instance = await instance_of(mesh.platform.consul, target)
    served = metrics_url(instance)
    edge = mesh.gateway.edge_url(0)
    load = mesh.load(LoadConfig(rate_per_second=RATE, max_duration_seconds=90))
    async with load.running():
        await asyncio.sleep(WARMUP_SECONDS)
        counted = await client_counters(edge)
        with frozen(target):
            fault_at = time.monotonic()

            async def ejected() -> bool:
                # Counted, since the instance may leave the edge's pool (and its metrics)
                # once Consul's check of it has timed out too.
                now = await client_counters(edge)
                return now["ejections"] > counted["ejections"]

            await eventually(ejected, timeout=FROZEN_SECONDS, what="its breaker opened")
            await asyncio.sleep(max(0.0, fault_at + FROZEN_SECONDS - time.monotonic()))
        resumed_at = time.monotonic()
        before = await handled(served, GRPC_SERVICES["marketdata"])

        async def serving_again() -> bool:
            return await handled(served, GRPC_SERVICES["marketdata"]) >= before + 10

        await eventually(serving_again, timeout=30, what="the resumed instance serving again")

        async def closed() -> bool:
            return await breaker_states(edge, instance.address) == {"closed"}

        await eventually(closed, timeout=30, what="its breaker closed again")
        await asyncio.sleep(SETTLE_SECONDS)
        counts = grown(counted, await client_counters(edge))
    samples = load.samples
    report("SIGSTOP marketdata instance", since(samples, fault_at), fault_at, counts)
    assert failures(ended_before(samples, fault_at)) == 0, statuses(samples, fault_at)
    failed = [s for s in since(samples, fault_at) if s.failed]
    # A frozen instance answers nothing: a request sent to it fails on its deadline (504).
    assert {s.status for s in failed} <= {504}, statuses(failed, fault_at)
    frozen_failed = [s for s in between(samples, fault_at + SETTLE_SECONDS, resumed_at) if s.failed]
    # Once ejected, the only requests still sent to it are half-open probes, one per ejection
    # (2 s, then 4, 6, 8 s): at most 3 fit in the frozen time after SETTLE_SECONDS.
    assert len(frozen_failed) <= 3, statuses(frozen_failed, fault_at)
    after = between(samples, resumed_at + SETTLE_SECONDS)
    assert failures(after) == 0, statuses(after, resumed_at)


async def test_rolling_restart_of_every_service_fails_no_request(mesh: Mesh) -> None:
    await whole(mesh)
    edge = mesh.gateway.edge_url(0)
    load = mesh.load(LoadConfig(rate_per_second=RATE, max_duration_seconds=150))
    async with load.running():
        await asyncio.sleep(WARMUP_SECONDS)
        counted = await client_counters(edge)
        began = time.monotonic()
        steps: list[str] = []
        for name in SERVICES:
            for replica in range(len(mesh.platform.instances[name])):
                stopping = time.monotonic() - began
                await mesh.platform.restart(name, replica)
                steps.append(f"{name}#{replica} +{stopping:.1f}..+{time.monotonic() - began:.1f}s")
        await asyncio.sleep(WARMUP_SECONDS)
        counts = grown(counted, await client_counters(edge))
    samples = load.samples
    report("rolling restart of every service", since(samples, began), began, counts)
    failed = [s for s in samples if s.failed]
    assert not failed, (steps, statuses(failed, began))
