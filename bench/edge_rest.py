"""REST through nginx and the edges against the same call made directly over gRPC.

Starts a Consul, a Kafka, the five services, two edges and nginx as real processes on
loopback, signs a user in over REST, then measures `GET /api/v1/stocks/AAPL/quote`
(marketdata's GetQuote):

- one call in flight, interleaved rounds (A/B/C/A/B/C...): the gRPC call through the mesh
  client (mTLS, Consul discovery), the same through one edge directly, and through nginx; the
  edge's added latency is the difference of medians;
- throughput through nginx at a few concurrencies, with p50/p99 latency.

    .venv/bin/python -m bench.edge_rest [--seconds 10] [--rounds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx
from trademesh.marketdata.v1 import marketdata_pb2

from bench._http_load import _exchange, request_bytes, run_load
from bench._workdir import scratch
from mesh.rpc import bearer_metadata
from tests.e2e._platform import Platform, own_infra, running_platform
from tests.e2e.edge._gateway import Gateway, running_gateway
from tests.e2e.edge._rest import register

PATH = "/api/v1/stocks/AAPL/quote"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:6.2f} ms"


async def serial(call: Callable[[], Awaitable[object]], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return times


async def http_caller(url: str, token: str) -> Callable[[], Awaitable[int]]:
    """GET PATH over one keep-alive connection, opened again if the server closed it."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = request_bytes(host, port, PATH, {"Authorization": f"Bearer {token}"})
    connection: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def call() -> int:
        if not connection:
            connection.append(await asyncio.open_connection(host, port))
        try:
            status = await _exchange(*connection[0], request)
        except (ConnectionError, asyncio.IncompleteReadError):
            connection.pop()[1].close()
            return await call()
        assert status == 200, status
        return status

    return call


async def measure(platform: Platform, gateway: Gateway, seconds: float, rounds: int) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        user = await register(http)
    stub = await platform.stub("marketdata")
    metadata = (bearer_metadata(user.token),)

    async def grpc_call() -> object:
        return await stub.GetQuote(marketdata_pb2.GetQuoteRequest(symbol="AAPL"), metadata=metadata)

    edge_call = await http_caller(gateway.edge_url(0), user.token)
    nginx_call = await http_caller(gateway.url, user.token)
    variants = {"gRPC direct": grpc_call, "REST via edge": edge_call, "REST via nginx": nginx_call}
    for call in variants.values():  # warm-up: connections, caches, codecs
        await serial(call, 200)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, call in variants.items():
            samples[name].extend(await serial(call, 300))

    print(f"\nGetQuote, one call in flight, {rounds} interleaved rounds of 300 each:")
    base = statistics.median(samples["gRPC direct"])
    for name, times in samples.items():
        median = statistics.median(times)
        print(
            f"  {name:<16} p50 {ms(median)}   p99 {ms(percentile(times, 0.99))}"
            f"   added over gRPC {ms(median - base)}   ratio {median / base:4.2f}"
        )

    print(f"\nThroughput through nginx ({seconds:.0f} s each, two edges):")
    parts = urlsplit(gateway.url)
    for connections in (1, 8, 32, 64):
        result = await run_load(
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            PATH,
            {"Authorization": f"Bearer {user.token}"},
            connections=connections,
            seconds=seconds,
        )
        lat = result.latencies
        print(
            f"  {connections:>3} connections  {result.rate:8.0f} req/s"
            f"   p50 {ms(percentile(lat, 0.5))}   p99 {ms(percentile(lat, 0.99))}"
            f"   statuses {result.statuses}"
        )


async def bench(seconds: float, rounds: int) -> None:
    with scratch() as workdir:
        print(f"starting Consul, Kafka, the services, two edges and nginx under {workdir} ...")
        async with (
            own_infra(workdir / "infra") as infra,
            running_platform(infra.consul, infra.kafka.address, workdir) as platform,
            running_gateway(
                platform,
                workdir / "gateway",
                rate_per_second=1_000_000,
                burst=1_000_000,
                env={"TRADEMESH_EDGE_LIMITS_ENABLED": "false"},
            ) as gateway,
        ):
            await measure(platform, gateway, seconds, rounds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    asyncio.run(bench(args.seconds, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
