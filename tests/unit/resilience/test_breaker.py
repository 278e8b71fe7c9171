"""CircuitBreaker: when it asks to be opened, how long it stays open, and its half-open
probes. The pool decides whether an ejection may happen; here `open()` is called whenever
`failure()` asks for it."""

from __future__ import annotations

import pytest

from mesh.resilience.breaker import BreakerState, CircuitBreaker
from mesh.resilience.config import BreakerConfig

from ._clock import FakeClock

CLOSED, HALF_OPEN, OPEN = BreakerState.CLOSED, BreakerState.HALF_OPEN, BreakerState.OPEN


def _breaker(clock: FakeClock, **settings: float) -> CircuitBreaker:
    return CircuitBreaker(BreakerConfig(**settings), clock=clock)  # type: ignore[arg-type]


def _eject(breaker: CircuitBreaker, limit: int = 1000) -> None:
    for _ in range(limit):
        if breaker.failure():
            breaker.open()
            return
    raise AssertionError("the breaker never asked to open")


def _probe_and_close(breaker: CircuitBreaker, clock: FakeClock) -> None:
    clock.now = breaker.open_until
    assert breaker.probe_due(clock())
    breaker.half_open()
    assert breaker.try_probe()
    breaker.success()
    assert breaker.state is CLOSED


# -- when it trips -------------------------------------------------------------------------


def test_consecutive_failures_trip() -> None:
    breaker = _breaker(FakeClock(), consecutive_failures=5)
    assert [breaker.failure() for _ in range(5)] == [False, False, False, False, True]


def test_a_success_resets_the_consecutive_count() -> None:
    breaker = _breaker(FakeClock(), consecutive_failures=3, minimum_calls=1000)
    for _ in range(10):
        assert not breaker.failure()
        assert not breaker.failure()
        breaker.success()
    assert breaker.state is CLOSED


def test_failure_rate_trips_only_at_the_minimum_volume() -> None:
    breaker = _breaker(FakeClock(), consecutive_failures=100, minimum_calls=20, failure_rate=0.5)
    asked = [breaker.failure() for _ in range(20)]  # every call fails
    assert asked == [False] * 19 + [True]


def test_failure_rate_asks_exactly_when_the_volume_is_reached() -> None:
    breaker = _breaker(FakeClock(), consecutive_failures=100, minimum_calls=20, failure_rate=0.5)
    asked = []
    for _ in range(10):
        breaker.success()
        asked.append(breaker.failure())
    assert asked == [False] * 9 + [True]


def test_a_low_failure_rate_does_not_trip() -> None:
    breaker = _breaker(FakeClock(), consecutive_failures=100, minimum_calls=20, failure_rate=0.5)
    for _ in range(100):
        breaker.success()
        breaker.success()
        assert not breaker.failure()  # a third of the calls fail


def test_failures_older_than_the_window_do_not_count() -> None:
    clock = FakeClock()
    breaker = _breaker(
        clock, consecutive_failures=100, minimum_calls=10, failure_rate=0.5, window_seconds=10.0
    )
    for _ in range(8):
        breaker.failure()
    clock.advance(10.0)
    breaker.success()
    for _ in range(8):
        breaker.success()
    # Within the window: 9 successes; the 8 old failures have gone.
    assert not breaker.failure()


def test_neutral_outcomes_never_trip() -> None:
    breaker = _breaker(FakeClock(), consecutive_failures=3, minimum_calls=5, failure_rate=0.5)
    for _ in range(50):
        breaker.neutral()
    assert breaker.state is CLOSED
    assert not breaker.failure()


def test_a_neutral_outcome_breaks_a_run_of_failures() -> None:
    breaker = _breaker(FakeClock(), consecutive_failures=3, minimum_calls=1000)
    for _ in range(10):
        assert not breaker.failure()
        assert not breaker.failure()
        breaker.neutral()


def test_a_failure_while_open_asks_nothing() -> None:
    clock = FakeClock()
    breaker = _breaker(clock, consecutive_failures=1)
    _eject(breaker)
    assert not breaker.failure()  # a call that started before the ejection
    breaker.success()
    assert breaker.state is OPEN


# -- how long it stays open ----------------------------------------------------------------


def test_open_for_the_base_interval_first() -> None:
    clock = FakeClock()
    breaker = _breaker(clock, consecutive_failures=1, base_ejection_seconds=30.0)
    _eject(breaker)
    assert breaker.state is OPEN
    assert breaker.open_until == clock() + 30.0
    assert not breaker.probe_due(clock() + 29.9)
    assert breaker.probe_due(clock() + 30.0)
    assert breaker.times_opened == 1


def test_the_open_interval_grows_with_repeated_ejections_and_is_capped() -> None:
    clock = FakeClock()
    breaker = _breaker(
        clock, consecutive_failures=1, base_ejection_seconds=30.0, max_ejection_seconds=100.0
    )
    intervals = []
    for _ in range(6):
        _eject(breaker)
        intervals.append(breaker.open_until - clock())
        _probe_and_close(breaker, clock)  # and it fails again at once
    assert intervals == [30.0, 60.0, 90.0, 100.0, 100.0, 100.0]
    assert breaker.times_opened == 6


def test_the_interval_decays_back_after_a_healthy_spell() -> None:
    clock = FakeClock()
    breaker = _breaker(clock, consecutive_failures=1, base_ejection_seconds=30.0)
    _eject(breaker)
    _probe_and_close(breaker, clock)
    _eject(breaker)
    assert breaker.open_until - clock() == 60.0
    _probe_and_close(breaker, clock)
    clock.advance(59.0)  # healthy for less than it was last kept out
    _eject(breaker)
    assert breaker.open_until - clock() == 90.0
    _probe_and_close(breaker, clock)
    clock.advance(90.0)  # healthy as long as it was last kept out
    _eject(breaker)
    assert breaker.open_until - clock() == 30.0
    assert breaker.ejections == 1


def test_a_new_breaker_opens_for_the_base_interval() -> None:
    clock = FakeClock()
    breaker = _breaker(clock, consecutive_failures=2, base_ejection_seconds=30.0)
    clock.advance(0.5)
    _eject(breaker)
    assert breaker.open_until - clock() == 30.0


# -- half-open probes ----------------------------------------------------------------------


@pytest.mark.parametrize("probes", [1, 3])
def test_half_open_allows_exactly_the_configured_probes(probes: int) -> None:
    clock = FakeClock()
    breaker = _breaker(clock, consecutive_failures=1, half_open_probes=probes)
    _eject(breaker)
    assert not breaker.try_probe()  # still open
    clock.now = breaker.open_until
    breaker.half_open()
    assert breaker.state is HALF_OPEN
    assert [breaker.try_probe() for _ in range(probes + 2)] == [True] * probes + [False] * 2


def test_probe_success_closes() -> None:
    clock = FakeClock()
    breaker = _breaker(clock, consecutive_failures=1)
    _eject(breaker)
    _probe_and_close(breaker, clock)
    assert breaker.state is CLOSED
    assert breaker.probes == 0
    assert not breaker.try_probe()


def test_every_probe_must_succeed_to_close() -> None:
    clock = FakeClock()
    breaker = _breaker(clock, consecutive_failures=1, half_open_probes=2)
    _eject(breaker)
    clock.now = breaker.open_until
    breaker.half_open()
    assert breaker.try_probe() and breaker.try_probe()
    breaker.success()
    assert breaker.state is HALF_OPEN
    breaker.success()
    assert breaker.state is CLOSED


def test_probe_failure_reopens_for_longer() -> None:
    clock = FakeClock()
    breaker = _breaker(clock, consecutive_failures=1, base_ejection_seconds=30.0)
    _eject(breaker)
    clock.now = breaker.open_until
    breaker.half_open()
    assert breaker.try_probe()
    assert breaker.failure()  # a failed probe asks to reopen
    breaker.open()
    assert breaker.state is OPEN
    assert breaker.open_until - clock() == 60.0


def test_a_neutral_probe_gives_its_slot_back() -> None:
    clock = FakeClock()
    breaker = _breaker(clock, consecutive_failures=1)
    _eject(breaker)
    clock.now = breaker.open_until
    breaker.half_open()
    assert breaker.try_probe()
    assert not breaker.try_probe()
    breaker.neutral()
    assert breaker.state is HALF_OPEN
    assert breaker.try_probe()


def test_a_closed_breaker_starts_counting_afresh() -> None:
    clock = FakeClock()
    breaker = _breaker(clock, consecutive_failures=3, minimum_calls=1000)
    breaker.failure()
    breaker.failure()
    if breaker.failure():
        breaker.open()
    _probe_and_close(breaker, clock)
    assert not breaker.failure()
    assert not breaker.failure()
    assert breaker.failure()


def test_a_probe_slot_never_given_back_is_reclaimed_after_the_base_interval() -> None:
    clock = FakeClock()
    breaker = _breaker(clock, consecutive_failures=1, base_ejection_seconds=30.0)
    _eject(breaker)
    clock.now = breaker.open_until
    breaker.half_open()
    assert breaker.try_probe()  # its call is never made, or its outcome never told
    clock.advance(29.0)
    assert not breaker.try_probe()
    clock.advance(1.0)
    assert breaker.try_probe()
    assert not breaker.try_probe()
    breaker.success()
    assert breaker.state is CLOSED
