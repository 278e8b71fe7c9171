"""SlidingCounts: counts expire with the window and a bucket is reused when time comes back
round to it."""

from __future__ import annotations

import pytest

from mesh.resilience.window import SlidingCounts

from ._clock import FakeClock


def test_counts_sum_within_the_window() -> None:
    clock = FakeClock()
    counts = SlidingCounts(10.0, clock=clock)
    counts.add(0)
    clock.advance(3.0)
    counts.add(0, 2)
    counts.add(1)
    assert counts.totals() == [3, 1]


def test_counts_expire_once_the_window_has_passed() -> None:
    clock = FakeClock()
    counts = SlidingCounts(10.0, clock=clock)  # ten one-second slices
    counts.add(0)
    clock.advance(5.0)
    counts.add(0)
    clock.advance(5.0)  # the first add is now ten slices old
    assert counts.totals() == [1, 0]
    clock.advance(5.0)
    assert counts.totals() == [0, 0]


def test_a_reused_bucket_starts_from_zero() -> None:
    clock = FakeClock()
    counts = SlidingCounts(10.0, clock=clock)
    counts.add(0, 5)
    counts.add(1, 7)
    clock.advance(10.0)  # the same bucket of the ring, one lap later
    counts.add(0)
    assert counts.totals() == [1, 0]


def test_a_bucket_reused_after_many_laps_holds_only_the_new_count() -> None:
    clock = FakeClock()
    counts = SlidingCounts(2.0, buckets=4, clock=clock)
    for _ in range(3):
        counts.add(1)
    clock.advance(2.0 * 37)
    counts.add(1)
    assert counts.totals() == [0, 1]


def test_every_slice_of_the_window_counts() -> None:
    clock = FakeClock()
    counts = SlidingCounts(10.0, clock=clock)
    for _ in range(10):
        counts.add(0)
        clock.advance(1.0)
    clock.advance(-1.0)  # back to the time of the last add: all ten slices in the window
    assert counts.totals() == [10, 0]
    clock.advance(1.0)
    assert counts.totals() == [9, 0]


def test_clear_forgets_everything() -> None:
    clock = FakeClock()
    counts = SlidingCounts(10.0, width=3, clock=clock)
    counts.add(2, 4)
    counts.clear()
    assert counts.totals() == [0, 0, 0]
    counts.add(2)
    assert counts.totals() == [0, 0, 1]


@pytest.mark.parametrize(
    ("window", "width", "buckets"), [(0.0, 2, 10), (-1.0, 2, 10), (1.0, 0, 10), (1.0, 2, 0)]
)
def test_bad_shapes_are_refused(window: float, width: int, buckets: int) -> None:
    with pytest.raises(ValueError):
        SlidingCounts(window, width=width, buckets=buckets)
