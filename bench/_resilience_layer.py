"""The whole resilience layer around one call, with the network taken out: a call through
`BalancedChannel` whose instance channels answer at once, against awaiting that same instant
answer directly. The difference is what the layer adds to every call (UnaryCall or
StreamCall, their coroutines, deadline arithmetic, bulkhead, budget, pick, breaker, EWMA), in
µs; for a server stream, per stream of STREAM_MESSAGES messages.
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
STREAM = "/bench.Echo/Stream"
STREAM_MESSAGES = 100
STREAM_REQUEST = str(STREAM_MESSAGES).encode()
MESSAGE = b"0123456789abcdef"


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


class _InstantStream:
    """Reads like a `grpc.aio.UnaryStreamCall` whose messages are all already there."""

    __slots__ = ("_callbacks", "_left")

    def __init__(self, count: int) -> None:
        self._left = count
        self._callbacks: list[Callable[[Any], None]] = []

    async def read(self) -> Any:
        if self._left == 0:
            for callback in self._callbacks:
                callback(self)
            self._callbacks.clear()
            return grpc.aio.EOF
        self._left -= 1
        return MESSAGE

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        self._callbacks.append(callback)

    def cancel(self) -> bool:
        return False

    def done(self) -> bool:
        return self._left == 0


class _InstantStreams:
    def __call__(self, request: bytes, **kwargs: Any) -> _InstantStream:
        return _InstantStream(int(request))


class _InstantChannel:
    def unary_unary(self, method: str, **options: Any) -> _Instant:
        return _Instant()

    def unary_stream(self, method: str, **options: Any) -> _InstantStreams:
        return _InstantStreams()


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


def _reader(upstream: Upstream) -> Callable[[], Awaitable[Any]]:
    stream = BalancedChannel(upstream).unary_stream(STREAM, retry_safe=True)
    return lambda: _read_all(stream(STREAM_REQUEST))


async def _read_all(call: Any) -> int:
    received = 0
    while await call.read() is not grpc.aio.EOF:
        received += 1
    return received


def _variants() -> dict[str, dict[str, Callable[[], Awaitable[Any]]]]:
    unary, stream = _Instant(), _InstantStreams()
    groups: dict[str, dict[str, Callable[[], Awaitable[Any]]]] = {
        "unary call": {"A  the instant call awaited directly": lambda: unary(b"ping", timeout=5.0)},
        f"server stream of {STREAM_MESSAGES} messages, read()": {
            "A  the instant stream read directly": lambda: _read_all(stream(STREAM_REQUEST))
        },
    }
    for size in (1, 2):
        upstream = Upstream("bench", instant_channel, ClientConfig(plaintext=True))
        upstream.pool.update([Instance(f"bench-{i}", "127.0.0.1", 50000 + i) for i in range(size)])
        name = f"B{size} through BalancedChannel, {size} inst"
        groups["unary call"][name] = _caller(upstream)
        groups[f"server stream of {STREAM_MESSAGES} messages, read()"][name] = _reader(upstream)
    return groups


def run(rounds: int, number: int) -> None:
    groups = _variants()
    repeat = {"unary call": number}
    for group in groups:
        repeat.setdefault(group, max(1, number // STREAM_MESSAGES))

    async def measure() -> dict[str, dict[str, list[float]]]:
        for group, variants in groups.items():
            for call in variants.values():
                assert await call() in (b"ping", STREAM_MESSAGES)
                await _loop(call, repeat[group] // 10 or 1)
        samples: dict[str, dict[str, list[float]]] = {
            g: {name: [] for name in v} for g, v in groups.items()
        }
        for _ in range(rounds):
            for group, variants in groups.items():
                for name, call in variants.items():
                    samples[group][name].append(await _loop(call, repeat[group]))
        return samples

    samples = asyncio.run(measure())
    print(
        f"\nThe layer around a call, network taken out: {rounds} interleaved rounds, µs per call"
        " (added: B's median - A's)"
    )
    for group, variants in samples.items():
        title = f"{group}, {repeat[group]} calls a round"
        print(f"{title:60} {'median':>8} {'best':>8} {'added':>8}")
        base = statistics.median(next(iter(variants.values())))
        for name, values in variants.items():
            median = statistics.median(values)
            added = "" if name.startswith("A") else f"{median - base:8.2f}"
            print(f"  {name:58} {median:8.2f} {min(values):8.2f} {added:>8}")
