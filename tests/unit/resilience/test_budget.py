"""RetryBudget: retries at most a ratio of the requests over the window, with a floor; refusals
are counted and the budget comes back as the window slides."""

from __future__ import annotations

from mesh.resilience.budget import RetryBudget

from ._clock import FakeClock


def _spend_all(budget: RetryBudget, limit: int = 10_000) -> int:
    spent = 0
    while spent < limit and budget.try_spend():
        spent += 1
    return spent


def test_the_floor_allows_retries_without_requests() -> None:
    clock = FakeClock()
    budget = RetryBudget(0.2, min_per_second=1.0, window_seconds=10.0, clock=clock)
    assert _spend_all(budget) == 10  # 1 per second over 10 s
    assert budget.exhausted == 1


def test_the_ratio_of_requests_over_the_window() -> None:
    clock = FakeClock()
    budget = RetryBudget(0.2, min_per_second=1.0, window_seconds=10.0, clock=clock)
    for _ in range(500):
        budget.record_request()
    assert _spend_all(budget) == 100
    assert budget.usage() == (500, 100)


def test_the_floor_wins_while_the_ratio_allows_less() -> None:
    clock = FakeClock()
    budget = RetryBudget(0.2, min_per_second=1.0, window_seconds=10.0, clock=clock)
    for _ in range(30):  # the ratio alone would allow 6
        budget.record_request()
    assert _spend_all(budget) == 10


def test_no_floor_and_no_requests_means_no_retries() -> None:
    clock = FakeClock()
    budget = RetryBudget(0.5, min_per_second=0.0, window_seconds=10.0, clock=clock)
    assert not budget.try_spend()
    budget.record_request()
    budget.record_request()
    assert budget.try_spend()
    assert not budget.try_spend()
    assert budget.exhausted == 2


def test_every_refusal_is_counted() -> None:
    clock = FakeClock()
    budget = RetryBudget(0.2, min_per_second=0.5, window_seconds=10.0, clock=clock)
    assert _spend_all(budget) == 5
    for _ in range(7):
        assert not budget.try_spend()
    assert budget.exhausted == 8
    assert budget.usage() == (0, 5)  # refused retries are not counted as spent


def test_the_budget_recovers_once_the_window_slides() -> None:
    clock = FakeClock()
    budget = RetryBudget(0.2, min_per_second=1.0, window_seconds=10.0, clock=clock)
    assert _spend_all(budget) == 10
    clock.advance(5.0)
    assert not budget.try_spend()  # still within the window
    clock.advance(5.0)
    assert budget.try_spend()
    assert budget.usage() == (0, 1)


def test_retries_spread_over_the_window_expire_slice_by_slice() -> None:
    clock = FakeClock()
    budget = RetryBudget(0.0, min_per_second=0.3, window_seconds=10.0, clock=clock)  # floor 3
    for _ in range(3):
        assert budget.try_spend()
        clock.advance(3.0)
    # now 9 s after the first retry: all three within the window
    assert not budget.try_spend()
    clock.advance(1.0)  # the first retry left the window
    assert budget.try_spend()
    assert not budget.try_spend()


def test_old_requests_stop_paying_for_retries() -> None:
    clock = FakeClock()
    budget = RetryBudget(0.2, min_per_second=0.0, window_seconds=10.0, clock=clock)
    for _ in range(100):
        budget.record_request()
    clock.advance(10.0)
    assert not budget.try_spend()
    assert budget.usage() == (0, 0)
