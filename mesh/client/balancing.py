"""How an upstream's next call chooses among its instances: one table of strategies.

Every strategy gets the instances a call may go to (closed breakers, and not the one a retry
just failed on) and picks one. Power of two choices compares two instances drawn at random,
which balances nearly as well as scanning all of them and never herds every caller onto the
one instance that looked best a moment ago.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Protocol

from mesh.config import ConfigError


class Candidate(Protocol):
    in_flight: int
    ewma_seconds: float


class Strategy(Protocol):
    def choose(self, candidates: Sequence[Candidate]) -> int:
        """The index of the chosen candidate; `candidates` is never empty."""
        ...


class RoundRobin:
    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next = random.randrange(1 << 16)  # callers that start together do not align

    def choose(self, candidates: Sequence[Candidate]) -> int:
        self._next += 1
        return self._next % len(candidates)


def _two(count: int) -> tuple[int, int]:
    a = random.randrange(count)
    b = random.randrange(count - 1)
    return a, b + 1 if b >= a else b


class LeastRequest:
    """Of two random instances, the one with fewer calls in flight."""

    __slots__ = ()

    def choose(self, candidates: Sequence[Candidate]) -> int:
        if len(candidates) == 1:
            return 0
        a, b = _two(len(candidates))
        return a if candidates[a].in_flight <= candidates[b].in_flight else b


class PeakEwma:
    """Of two random instances, the one with the lower latency estimate times (calls in flight +
    1). The estimate jumps to a slow answer at once and decays towards fast ones, so an
    instance that starts stalling loses traffic on its first slow answer."""

    __slots__ = ()

    def choose(self, candidates: Sequence[Candidate]) -> int:
        if len(candidates) == 1:
            return 0
        a, b = _two(len(candidates))
        first, second = candidates[a], candidates[b]
        cost_a = first.ewma_seconds * (first.in_flight + 1)
        cost_b = second.ewma_seconds * (second.in_flight + 1)
        return a if cost_a <= cost_b else b


STRATEGIES: dict[str, Callable[[], Strategy]] = {
    "round_robin": RoundRobin,
    "least_request": LeastRequest,
    "peak_ewma": PeakEwma,
}


def strategy_named(name: str, key: str) -> Strategy:
    factory = STRATEGIES.get(name)
    if factory is None:
        raise ConfigError(key, f"unknown balancer {name!r}; one of {sorted(STRATEGIES)}")
    return factory()


def peak_ewma(estimate: float, sample: float, elapsed: float, decay_seconds: float) -> float:
    """A latency estimate that takes a slower sample at once and decays towards faster ones
    with time constant `decay_seconds`; the time-weighting makes a sample after a long quiet
    spell count for more."""
    if sample >= estimate:
        return sample
    weight = math.exp(-elapsed / decay_seconds)
    return estimate * weight + sample * (1.0 - weight)
