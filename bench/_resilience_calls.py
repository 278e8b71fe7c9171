"""Calls over loopback, bare grpc.aio against the same calls through `BalancedChannel`.

The echo server (`bench._echo_server`) runs as its own process, so the client's CPU is the
client's. Per round, each variant runs for `seconds` in each mode, the variants in a rotated
order; a B/A ratio is taken within each round (both sides saw the same machine) and the
median of those ratios is printed with the median figures.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from bench._echo_server import STREAM, UNARY
from mesh.client.channel import BalancedChannel
from mesh.client.config import ClientConfig
from mesh.client.upstream import Upstream
from mesh.discovery import Instance

TIMEOUT_SECONDS = 5.0
STREAM_MESSAGES = 500
ROOT = Path(__file__).resolve().parent.parent

Call = Callable[[], Awaitable[int]]  # one call; how many messages it received


@dataclass
class Variant:
    name: str
    unary: Call
    stream: Call
    samples: dict[str, list[float]] = field(default_factory=dict)


def plain_channel(instance: Instance) -> grpc.aio.Channel:
    # No client interceptors: the figures are the resilience layer's alone.
    return grpc.aio.insecure_channel(instance.address)


def bare(port: int) -> tuple[Variant, grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    unary: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(UNARY)
    stream: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(STREAM)

    async def call() -> int:
        await unary(b"ping", timeout=TIMEOUT_SECONDS)
        return 1

    async def read() -> int:
        received = 0
        async for _ in stream(str(STREAM_MESSAGES).encode()):
            received += 1
        return received

    return Variant("A  bare grpc.aio channel", call, read), channel


def balanced(ports: list[int]) -> tuple[Variant, Upstream]:
    upstream = Upstream("bench", plain_channel, ClientConfig(plaintext=True))
    upstream.pool.update([Instance(f"bench-{p}", "127.0.0.1", p) for p in ports])
    channel = BalancedChannel(upstream)
    unary = channel.unary_unary(UNARY, retry_safe=True)
    stream = channel.unary_stream(STREAM, retry_safe=True)

    async def call() -> int:
        await unary(b"ping", timeout=TIMEOUT_SECONDS)
        return 1

    async def read() -> int:
        received = 0
        async for _ in stream(str(STREAM_MESSAGES).encode()):
            received += 1
        return received

    name = f"B{len(ports)} BalancedChannel, {len(ports)} inst"
    return Variant(name, call, read), upstream


async def drive(call: Call, in_flight: int, seconds: float) -> tuple[float, float]:
    """`in_flight` callers, each calling again as soon as its call ends, for `seconds`:
    (items per second, client CPU µs per item; grpc's own threads included)."""
    items = 0
    stop_at = time.perf_counter() + seconds

    async def caller() -> None:
        nonlocal items
        while time.perf_counter() < stop_at:
            got = await call()  # not `items += await call()`: that reads items before awaiting
            items += got

    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(in_flight)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return items / elapsed, cpu / items * 1e6


MODES: dict[str, tuple[str, int]] = {
    # mode: (which call, calls in flight)
    "unary, 1 in flight": ("unary", 1),
    "unary, 32 in flight": ("unary", 32),
    "server stream, 1 in flight": ("stream", 1),
}


async def measure(variants: list[Variant], rounds: int, seconds: float) -> None:
    for variant in variants:  # warm up: connections, multicallables, code paths
        await drive(variant.unary, 8, 0.2)
        await drive(variant.stream, 1, 0.2)
    for index in range(rounds):
        order = variants[index % len(variants) :] + variants[: index % len(variants)]
        for mode, (kind, in_flight) in MODES.items():
            for variant in order:
                call = variant.unary if kind == "unary" else variant.stream
                rate, cpu = await drive(call, in_flight, seconds)
                variant.samples.setdefault(f"{mode} rate", []).append(rate)
                variant.samples.setdefault(f"{mode} cpu", []).append(cpu)


def report(variants: list[Variant], rounds: int, seconds: float) -> None:
    base = variants[0]
    print(
        f"\nCalls over loopback: {rounds} interleaved rounds of {seconds:g} s per variant and"
        f" mode; medians, B/A = median of the per-round ratios"
    )
    print(f"server stream: {STREAM_MESSAGES} messages of 16 bytes per call")
    for mode, (kind, in_flight) in MODES.items():
        what = "calls/s" if kind == "unary" else "messages/s"
        print(f"\n{mode}")
        head = f"{'µs/call':>9}" if in_flight == 1 and kind == "unary" else f"{'':>9}"
        print(f"  {'':32} {what:>11} {head} {'B/A rate':>9} {'CPU µs':>8} {'B/A CPU':>8}")
        for variant in variants:
            rates = variant.samples[f"{mode} rate"]
            cpus = variant.samples[f"{mode} cpu"]
            rate, cpu = statistics.median(rates), statistics.median(cpus)
            latency = f"{1e6 / rate:9.1f}" if in_flight == 1 and kind == "unary" else " " * 9
            line = f"  {variant.name:32} {rate:11.0f} {latency} "
            if variant is base:
                line += f"{'':>9} {cpu:8.1f}"
            else:
                rate_ratio = statistics.median(
                    b / a for a, b in zip(base.samples[f"{mode} rate"], rates, strict=True)
                )
                cpu_ratio = statistics.median(
                    b / a for a, b in zip(base.samples[f"{mode} cpu"], cpus, strict=True)
                )
                line += f"{rate_ratio:9.2f} {cpu:8.1f} {cpu_ratio:8.2f}"
            print(line)


async def run_async(ports: list[int], rounds: int, seconds: float) -> None:
    variant_a, channel = bare(ports[0])
    variant_b1, upstream1 = balanced(ports[:1])
    variant_b2, upstream2 = balanced(ports[:2])
    variants = [variant_a, variant_b1, variant_b2]
    try:
        await measure(variants, rounds, seconds)
        for upstream in (upstream1, upstream2):
            states = upstream.state()
            assert states.retries == 0 and states.ejections == 0 and states.shed == 0, states
    finally:
        await channel.close()
        await upstream1.pool.close()
        await upstream2.pool.close()
    report(variants, rounds, seconds)


def run(rounds: int, seconds: float) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "bench._echo_server", "--ports", "2"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline().split()
        if not line or line[0] != "PORTS":
            raise RuntimeError(f"the echo server did not start: {line!r}")
        ports: list[Any] = [int(p) for p in line[1:]]
        asyncio.run(run_async(ports, rounds, seconds))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
