"""The whole resilience layer around one unary call, with the network taken out: a call
through `BalancedChannel` whose instance channels answer at once, against awaiting that same
instant answer directly. The difference is what the layer adds to every call (UnaryCall, its
coroutine, deadline arithmetic, bulkhead, budget, pick, breaker, EWMA), in µs.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, cast

import grpc

from mesh.client.channel import BalancedChannel
from mesh.client.config import ClientConfig
from mesh.client.upstream import Upstream
from mesh.discovery import Instance

METHOD = "/bench.Echo/Unary"


class _Answered:
    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def __await__(self) -> Generator[Any, None, bytes]:
        return self._value
        yield  # a generator that never suspends: the answer is already there


class _Instant:
    def __call__(self, request: bytes, **kwargs: Any) -> _Answered:
        return _Answered(request)


class _InstantChannel:
    def unary_unary(self, method: str, **options: Any) -> _Instant:
        return _Instant()


def instant_channel(instance: Instance) -> grpc.aio.Channel:
    return cast(grpc.aio.Channel, _InstantChannel())


async def _loop(call: Callable[[], Awaitable[Any]], number: int) -> float:
    started = time.perf_counter()
    for _ in range(number):
        await call()
    return (time.perf_counter() - started) / number * 1e6


def _caller(upstream: Upstream) -> Callable[[], Awaitable[Any]]:
    unary = BalancedChannel(upstream).unary_unary(METHOD, retry_safe=True)
    return lambda: unary(b"ping", timeout=5.0)


def run(rounds: int, number: int) -> None:
    fake = _Instant()
    variants: dict[str, Callable[[], Awaitable[Any]]] = {
        "A  the instant call awaited directly": lambda: fake(b"ping", timeout=5.0),
    }
    for size in (1, 2):
        upstream = Upstream("bench", instant_channel, ClientConfig(plaintext=True))
        upstream.pool.update([Instance(f"bench-{i}", "127.0.0.1", 50000 + i) for i in range(size)])
        variants[f"B{size} through BalancedChannel, {size} inst"] = _caller(upstream)

    async def measure() -> dict[str, list[float]]:
        for call in variants.values():
            assert await call() == b"ping"
            await _loop(call, number // 10 or 1)
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(rounds):
            for name, call in variants.items():
                samples[name].append(await _loop(call, number))
        return samples

    samples = asyncio.run(measure())
    base = statistics.median(samples["A  the instant call awaited directly"])
    print(
        f"\nThe layer around a unary call, network taken out: {rounds} interleaved rounds of"
        f" {number} calls, µs per call"
    )
    print(f"{'':42} {'median':>8} {'best':>8} {'added':>8}")
    for name, values in samples.items():
        median = statistics.median(values)
        added = f"{median - base:8.2f}" if not name.startswith("A") else ""
        print(f"{name:42} {median:8.2f} {min(values):8.2f} {added:>8}")
