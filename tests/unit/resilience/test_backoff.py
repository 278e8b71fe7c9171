"""Full jitter: a uniform pause in [0, min(cap, base · 2^attempt))."""

from __future__ import annotations

import pytest

from mesh.resilience.backoff import full_jitter


@pytest.mark.parametrize(("attempt", "ceiling"), [(0, 0.05), (1, 0.1), (2, 0.2), (3, 0.4)])
def test_the_ceiling_doubles_per_attempt(attempt: int, ceiling: float) -> None:
    assert full_jitter(attempt, 0.05, 2.0, rand=lambda: 1.0) == pytest.approx(ceiling)
    assert full_jitter(attempt, 0.05, 2.0, rand=lambda: 0.5) == pytest.approx(ceiling / 2)


def test_the_low_bound_is_zero() -> None:
    assert full_jitter(4, 0.05, 2.0, rand=lambda: 0.0) == 0.0


@pytest.mark.parametrize("attempt", [6, 7, 20, 62, 63, 1000, 10**9])
def test_the_cap_bounds_every_attempt(attempt: int) -> None:
    assert full_jitter(attempt, 0.05, 2.0, rand=lambda: 1.0) == pytest.approx(2.0)
    assert full_jitter(attempt, 0.05, 2.0, rand=lambda: 0.25) == pytest.approx(0.5)


def test_pauses_stay_within_bounds_with_the_real_random() -> None:
    for attempt in range(12):
        ceiling = min(2.0, 0.05 * 2**attempt)
        for _ in range(200):
            assert 0.0 <= full_jitter(attempt, 0.05, 2.0) < ceiling
