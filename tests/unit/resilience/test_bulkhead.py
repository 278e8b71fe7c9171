"""Bulkhead: a non-blocking cap on calls in flight; the excess is counted as shed."""

from __future__ import annotations

from mesh.resilience.bulkhead import Bulkhead


def test_slots_up_to_the_limit_then_refusal() -> None:
    bulkhead = Bulkhead(2)
    assert bulkhead.try_enter()
    assert bulkhead.try_enter()
    assert not bulkhead.try_enter()
    assert not bulkhead.try_enter()
    assert (bulkhead.in_flight, bulkhead.shed) == (2, 2)


def test_leaving_frees_a_slot() -> None:
    bulkhead = Bulkhead(1)
    assert bulkhead.try_enter()
    assert not bulkhead.try_enter()
    bulkhead.leave()
    assert bulkhead.in_flight == 0
    assert bulkhead.try_enter()
    assert (bulkhead.in_flight, bulkhead.shed) == (1, 1)


def test_a_refused_call_takes_no_slot() -> None:
    bulkhead = Bulkhead(1)
    bulkhead.try_enter()
    for _ in range(10):
        bulkhead.try_enter()
    bulkhead.leave()
    assert bulkhead.in_flight == 0
