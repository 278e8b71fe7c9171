"""End-to-end time from PlaceOrder to the PortfolioUpdated event of the order's settlement.

Starts a Consul, a Kafka and the five services as real processes on loopback, then places
market buys one after another through the mesh client (mTLS, Consul discovery) and, for
each, times until the TRADE_SETTLED PortfolioUpdated naming the order arrives on
`portfolio.updates.v1`: PlaceOrder → risk checks → ReserveCash → fill → outbox → Kafka →
portfolio settles → outbox → Kafka → here.

    .venv/bin/python -m bench.order_latency [--orders 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from trademesh.portfolio.v1 import events_pb2 as portfolio_events

from bench._workdir import scratch
from mesh.events import PORTFOLIO_UPDATES, Consumer, Delivery, EventsConfig
from tests.e2e._platform import Platform, own_infra, running_platform
from tests.e2e._users import new_trader, place

SETTLED = portfolio_events.PORTFOLIO_CHANGE_TRADE_SETTLED


class Arrivals:
    """When each order's settlement was announced, by order id."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self._changed = asyncio.Event()

    async def __call__(self, delivery: Delivery) -> None:
        event = delivery.event
        if isinstance(event, portfolio_events.PortfolioUpdated) and event.change == SETTLED:
            self.at.setdefault(event.order_id, time.perf_counter())
            self._changed.set()

    async def wait(self, order_id: str, timeout: float) -> float:
        async with asyncio.timeout(timeout):
            while order_id not in self.at:
                self._changed.clear()
                await self._changed.wait()
        return self.at[order_id]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def describe(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"  {name:<34} p50 {percentile(ms, 0.50):7.1f} ms   p90 {percentile(ms, 0.90):7.1f} ms"
        f"   p99 {percentile(ms, 0.99):7.1f} ms   max {max(ms):7.1f} ms"
        f"   mean {statistics.fmean(ms):7.1f} ms"
    )


async def measure(platform: Platform, orders: int, timeout: float) -> None:
    trader = await new_trader(platform, "100000000")
    arrivals = Arrivals()
    config = EventsConfig(bootstrap_servers=platform.kafka_address, client_id="bench-latency")
    async with Consumer(config, None, [PORTFOLIO_UPDATES], arrivals, auto_offset_reset="latest"):
        # Until one settlement is heard, the consumer may not have its partitions yet.
        while True:
            warm = await place(platform, trader, "KO", "1")
            try:
                await arrivals.wait(warm.order_id, 5.0)
                break
            except TimeoutError:
                continue
        for _ in range(10):  # warm-up: connections, caches
            await arrivals.wait((await place(platform, trader, "KO", "1")).order_id, timeout)
        rpc: list[float] = []
        end_to_end: list[float] = []
        async with asyncio.timeout(timeout):
            for _ in range(orders):
                started = time.perf_counter()
                order = await place(platform, trader, "KO", "1")
                answered = time.perf_counter()
                settled_at = await arrivals.wait(order.order_id, timeout)
                rpc.append(answered - started)
                end_to_end.append(settled_at - started)
    print(f"\n{orders} market buys placed one after another:")
    print(describe("PlaceOrder answered", rpc))
    print(describe("PlaceOrder -> PortfolioUpdated", end_to_end))


async def bench(orders: int, timeout: float) -> None:
    with scratch() as workdir:
        print(f"starting Consul, Kafka and the five services under {workdir} ...", flush=True)
        async with (
            own_infra(workdir / "infra") as infra,
            running_platform(infra.consul, infra.kafka.address, workdir) as platform,
        ):
            await measure(platform, orders, timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--timeout", type=float, default=600.0, help="bound on the measuring")
    args = parser.parse_args(argv)
    asyncio.run(bench(args.orders, args.timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
