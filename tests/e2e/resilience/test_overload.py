"""Load above capacity on an edge with a small bulkhead: the excess is answered at once with
429 (RESOURCE_EXHAUSTED) or 503 rather than queued, the edge's memory stays bounded, and once
the load drops every request succeeds again without anything restarted."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.conftest import eventually
from tests.e2e.edge._gateway import running_gateway
from tests.e2e.resilience._faults import calls_in_flight, client_counters, grown, rss_kib
from tests.e2e.resilience._load import LoadConfig, failures, percentile, report, statuses
from tests.e2e.resilience._mesh import DEADLINE_SECONDS, EDGE_ENV, Mesh

BULKHEAD = 8  # concurrent calls per upstream service
OVERLOAD = LoadConfig(rate_per_second=2000.0, max_in_flight=96, max_duration_seconds=10.0)
STEADY = LoadConfig(rate_per_second=30.0, max_in_flight=16, max_duration_seconds=6.0)
SHED = frozenset({429, 503})
# What the edge may grow by while shedding: its buffers are bounded by the bulkhead and the
# driver's connections, not by the number of requests sent.
MAX_GROWTH_KIB = 64 * 1024


async def test_load_above_capacity_is_shed_fast_and_the_edge_recovers(
    mesh: Mesh, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = {
        **EDGE_ENV,
        "TRADEMESH_EDGE_NAME": "edge-bulkhead",
        "TRADEMESH_BULKHEAD_MAX_CONCURRENT_CALLS": str(BULKHEAD),
    }
    state: Path = tmp_path_factory.mktemp("bulkhead-edge")
    async with running_gateway(mesh.platform, state, edges=1, env=env) as gateway:
        edge = gateway.edge_url(0)
        pid = gateway.edges[0].process.pid()
        assert pid is not None
        warm = mesh.load(STEADY, edge)
        async with warm.running():
            await asyncio.sleep(2.0)
        assert failures(warm.samples) == 0, statuses(warm.samples)
        rss_before = peak = rss_kib(pid)
        counted = await client_counters(edge)

        overload = mesh.load(OVERLOAD, edge)
        async with overload.running():
            began = time.monotonic()
            while time.monotonic() - began < OVERLOAD.max_duration_seconds:
                peak = max(peak, rss_kib(pid))
                await asyncio.sleep(0.25)
        dropped_at = time.monotonic()
        counters = await client_counters(edge)

        async def drained() -> bool:
            return await calls_in_flight(edge) == 0

        # The calls the overload left in flight end by themselves (answered or on their
        # deadline); how long that takes on this host is the recovery figure.
        await eventually(drained, timeout=60, what="the overload's calls drained")
        recovered = time.monotonic() - dropped_at

        after = mesh.load(STEADY, edge)
        async with after.running():
            await asyncio.sleep(STEADY.max_duration_seconds)
        rss_after = rss_kib(pid)

    shed = [s for s in overload.samples if s.status in SHED]
    other = [s for s in overload.samples if s.failed and s.status not in SHED]
    shed_p50 = percentile([s.latency for s in shed], 0.5)
    report(
        f"load above capacity (bulkhead {BULKHEAD})",
        [*overload.samples, *after.samples],
        dropped_at,
        f"{len(shed)} shed, shed p50 {shed_p50 * 1000:.0f} ms, drained in {recovered:.1f} s, "
        f"edge RSS {rss_before // 1024} -> peak {peak // 1024} -> {rss_after // 1024} MiB; "
        + grown(counted, counters),
    )
    assert shed, f"nothing shed: {statuses(overload.samples, began)}"
    # The 429s are the edge's bulkhead refusing, not anything further in.
    refused = sum(1 for s in shed if s.status == 429)
    assert counters["shed"] - counted["shed"] >= refused, (refused, counted, counters)
    assert not other, statuses(other, began)
    # Shed, not timed out: a refusal does not wait for a deadline.
    assert shed_p50 < DEADLINE_SECONDS, shed_p50
    assert peak - rss_before < MAX_GROWTH_KIB, (rss_before, peak)
    assert failures(after.samples) == 0, statuses(after.samples, dropped_at)
