"""A circuit breaker per upstream instance: closed, open (ejected) and half-open.

The breaker only keeps the counts and the clock; whether it may open is the pool's call (it
never ejects more than a share of the instances), so `failure()` asks and `open()` obeys.
"""

from __future__ import annotations

import enum
import time

from mesh.resilience.config import BreakerConfig
from mesh.resilience.window import Clock, SlidingCounts

_CALLS, _FAILURES = 0, 1


class BreakerState(enum.Enum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"


CLOSED, HALF_OPEN, OPEN = BreakerState.CLOSED, BreakerState.HALF_OPEN, BreakerState.OPEN


class CircuitBreaker:
    """Counts the outcomes of calls to one instance. While closed, `success()` and `failure()`
    cost a counter update; `failure()` returns True when the instance should be ejected."""

    __slots__ = (
        "_clock",
        "_counts",
        "_successes",
        "closed_at",
        "config",
        "consecutive",
        "ejections",
        "open_until",
        "probe_taken_at",
        "probes",
        "state",
        "times_opened",
    )

    def __init__(self, config: BreakerConfig, clock: Clock = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._counts = SlidingCounts(config.window_seconds, clock=clock)
        self.state = CLOSED
        self.consecutive = 0
        self.ejections = 0  # times opened in a row; grows the open interval
        self.times_opened = 0  # ever, for metrics
        self.open_until = 0.0
        self.closed_at = clock()
        self.probes = 0  # probes in flight while half-open
        self.probe_taken_at = 0.0
        self._successes = 0

    def success(self) -> None:
        if self.state is CLOSED:
            self.consecutive = 0
            self._counts.add(_CALLS)
        elif self.state is HALF_OPEN:
            self.probes = max(0, self.probes - 1)
            self._successes += 1
            if self._successes >= self.config.half_open_probes:
                self.close()

    def failure(self) -> bool:
        """Count a failure that says the instance is unhealthy; True: it should be ejected."""
        if self.state is CLOSED:
            self.consecutive += 1
            self._counts.add(_CALLS)
            self._counts.add(_FAILURES)
            if self.consecutive >= self.config.consecutive_failures:
                return True
            calls, failures = self._counts.totals()
            return (
                calls >= self.config.minimum_calls and failures >= self.config.failure_rate * calls
            )
        if self.state is HALF_OPEN:
            self.probes = max(0, self.probes - 1)
            return True
        return False  # a call that started before the instance was ejected

    def neutral(self) -> None:
        """A call that ended saying nothing about the instance (cancelled, or an answer such
        as NOT_FOUND): a probe slot is given back."""
        if self.state is HALF_OPEN:
            self.probes = max(0, self.probes - 1)
        elif self.state is CLOSED:
            self.consecutive = 0
            self._counts.add(_CALLS)

    def open(self) -> None:
        now = self._clock()
        if self.state is CLOSED and now - self.closed_at >= self._interval(self.ejections):
            # Healthy for as long as it was last kept out: start again from the base interval.
            self.ejections = 0
        self.ejections += 1
        self.times_opened += 1
        self.state = OPEN
        self.open_until = now + self._interval(self.ejections)
        self.probes = 0
        self.consecutive = 0
        self._counts.clear()

    def _interval(self, ejections: int) -> float:
        c = self.config
        return min(c.max_ejection_seconds, c.base_ejection_seconds * max(ejections, 1))

    def probe_due(self, now: float) -> bool:
        return self.state is OPEN and now >= self.open_until

    def half_open(self) -> None:
        self.state = HALF_OPEN
        self.probes = 0
        self._successes = 0

    def try_probe(self) -> bool:
        """Take a probe slot while half-open. Slots taken longer than the base interval ago
        are given up: a caller that picked the instance and never told how the call went (it
        gave up before calling, or dropped a stream unread) must not keep it out for good."""
        if self.state is not HALF_OPEN:
            return False
        now = self._clock()
        if (
            self.probes >= self.config.half_open_probes
            and now - self.probe_taken_at >= self.config.base_ejection_seconds
        ):
            self.probes = 0
        if self.probes < self.config.half_open_probes:
            self.probes += 1
            self.probe_taken_at = now
            return True
        return False

    def close(self) -> None:
        self.state = CLOSED
        self.consecutive = 0
        self.probes = 0
        self.closed_at = self._clock()
        self._counts.clear()
