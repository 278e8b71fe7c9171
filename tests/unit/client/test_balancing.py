"""Balancing strategies: round robin cycles, least request and peak-EWMA compare two distinct
random instances (checked statistically with a seeded `random`), and the peak-EWMA estimate
takes a slow sample at once and decays towards fast ones."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from mesh.client import balancing
from mesh.client.balancing import (
    STRATEGIES,
    LeastRequest,
    PeakEwma,
    RoundRobin,
    peak_ewma,
    strategy_named,
)
from mesh.config import ConfigError

PICKS = 6000


@dataclass
class Load:
    in_flight: int = 0
    ewma_seconds: float = 0.01


@pytest.fixture(autouse=True)
def seeded() -> Iterator[None]:
    state = random.getstate()
    random.seed(20240508)
    yield
    random.setstate(state)


def _counts(strategy: balancing.Strategy, loads: list[Load], picks: int = PICKS) -> Counter[int]:
    return Counter(strategy.choose(loads) for _ in range(picks))


# -- round robin ---------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_round_robin_cycles(count: int) -> None:
    loads = [Load() for _ in range(count)]
    strategy = RoundRobin()
    picks = [strategy.choose(loads) for _ in range(count * 5)]
    for previous, current in itertools.pairwise(picks):
        assert current == (previous + 1) % count
    assert Counter(picks) == {i: 5 for i in range(count)}


def test_round_robin_ignores_load() -> None:
    loads = [Load(in_flight=100, ewma_seconds=9.0), Load()]
    assert _counts(RoundRobin(), loads, 10) == {0: 5, 1: 5}


def test_round_robin_keeps_cycling_when_the_list_shrinks() -> None:
    strategy = RoundRobin()
    three, two = [Load() for _ in range(3)], [Load() for _ in range(2)]
    for _ in range(4):
        strategy.choose(three)
    assert Counter(strategy.choose(two) for _ in range(10)) == {0: 5, 1: 5}


# -- the two random choices ----------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 3, 5])
def test_two_choices_are_distinct_and_cover_every_pair(count: int) -> None:
    pairs = set()
    for _ in range(2000):
        a, b = balancing._two(count)
        assert a != b
        assert 0 <= a < count and 0 <= b < count
        pairs.add((a, b))
    assert len(pairs) == count * (count - 1)


# -- least request -------------------------------------------------------------------------


def test_least_request_with_two_instances_always_takes_the_idler() -> None:
    assert _counts(LeastRequest(), [Load(in_flight=3), Load(in_flight=2)], 200) == {1: 200}


def test_least_request_prefers_fewer_in_flight() -> None:
    loads = [Load(in_flight=5), Load(in_flight=0), Load(in_flight=5), Load(in_flight=5)]
    counts = _counts(LeastRequest(), loads)
    # The idle instance wins whenever it is drawn: in 3 pairs of 6, so half the picks; each
    # busy one gets a sixth.
    assert counts[1] / PICKS == pytest.approx(0.5, abs=0.05)
    for busy in (0, 2, 3):
        assert counts[busy] / PICKS == pytest.approx(1 / 6, abs=0.04)


def test_least_request_never_takes_the_busiest_of_many() -> None:
    loads = [Load(in_flight=n) for n in (1, 2, 3, 50)]
    counts = _counts(LeastRequest(), loads)
    assert counts[3] == 0
    assert counts[0] > counts[1] > counts[2] > 0


def test_least_request_spreads_equal_loads() -> None:
    counts = _counts(LeastRequest(), [Load(in_flight=2) for _ in range(4)])
    for index in range(4):
        assert counts[index] / PICKS == pytest.approx(0.25, abs=0.04)


def test_a_single_candidate() -> None:
    for strategy in (RoundRobin(), LeastRequest(), PeakEwma()):
        assert strategy.choose([Load()]) == 0


# -- peak EWMA -----------------------------------------------------------------------------


def test_peak_ewma_prefers_the_faster_instance() -> None:
    loads = [Load(ewma_seconds=0.2), Load(ewma_seconds=0.01)]
    assert _counts(PeakEwma(), loads, 200) == {1: 200}


def test_peak_ewma_weighs_latency_by_calls_in_flight() -> None:
    fast_but_busy = Load(in_flight=30, ewma_seconds=0.01)  # cost 0.31
    slow_but_idle = Load(in_flight=0, ewma_seconds=0.2)  # cost 0.2
    assert _counts(PeakEwma(), [fast_but_busy, slow_but_idle], 200) == {1: 200}


def test_peak_ewma_avoids_a_stalling_instance() -> None:
    loads = [Load(ewma_seconds=0.01) for _ in range(3)] + [Load(ewma_seconds=5.0)]
    counts = _counts(PeakEwma(), loads)
    assert counts[3] == 0
    for index in range(3):
        assert counts[index] / PICKS == pytest.approx(1 / 3, abs=0.04)


def test_the_estimate_takes_a_slow_sample_at_once() -> None:
    assert peak_ewma(0.01, 2.0, elapsed=0.0, decay_seconds=10.0) == 2.0
    assert peak_ewma(0.01, 2.0, elapsed=1000.0, decay_seconds=10.0) == 2.0


def test_the_estimate_decays_towards_faster_samples() -> None:
    weight = math.exp(-1.0)
    assert peak_ewma(1.0, 0.0, elapsed=10.0, decay_seconds=10.0) == pytest.approx(weight)
    assert peak_ewma(1.0, 0.5, elapsed=0.0, decay_seconds=10.0) == 1.0  # no time, no change
    assert peak_ewma(1.0, 0.5, elapsed=1e6, decay_seconds=10.0) == pytest.approx(0.5)


def test_a_stall_fades_over_repeated_fast_samples() -> None:
    estimate = 2.0
    history = []
    for _ in range(30):
        estimate = peak_ewma(estimate, 0.01, elapsed=1.0, decay_seconds=10.0)
        history.append(estimate)
    assert all(a > b for a, b in itertools.pairwise(history))
    assert 0.01 < history[-1] < 2.0 * math.exp(-2.9) + 0.01


# -- by name -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [("round_robin", RoundRobin), ("least_request", LeastRequest), ("peak_ewma", PeakEwma)],
)
def test_strategies_by_name(name: str, cls: type) -> None:
    assert isinstance(strategy_named(name, "K"), cls)


def test_an_unknown_strategy_names_its_key() -> None:
    with pytest.raises(ConfigError) as raised:
        strategy_named("random", "TRADEMESH_CLIENT_BALANCER")
    assert raised.value.key == "TRADEMESH_CLIENT_BALANCER"
    assert "round_robin" in raised.value.problem
    assert set(STRATEGIES) == {"round_robin", "least_request", "peak_ewma"}
