"""A retry budget per upstream: retries may be at most a share of the requests over a sliding
window, plus a small floor so a quiet caller can still retry."""

from __future__ import annotations

import time

from mesh.resilience.window import Clock, SlidingCounts

_REQUESTS, _RETRIES = 0, 1


class RetryBudget:
    """`record_request()` once per call a caller makes (not per attempt); `try_spend()` before
    each retry: True (and counted) while retries stay within `ratio` of the requests over the
    window or under `min_per_second` times window. Failing upstreams are then not hammered: once
    the budget is spent, failures go back to the callers."""

    __slots__ = ("_counts", "_floor", "exhausted", "ratio")

    def __init__(
        self,
        ratio: float,
        min_per_second: float,
        window_seconds: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self._floor = min_per_second * window_seconds
        self._counts = SlidingCounts(window_seconds, clock=clock)
        self.exhausted = 0  # retries refused, for metrics and tests

    def record_request(self) -> None:
        self._counts.add(_REQUESTS)

    def try_spend(self) -> bool:
        requests, retries = self._counts.totals()
        if retries + 1 > max(self._floor, self.ratio * requests):
            self.exhausted += 1
            return False
        self._counts.add(_RETRIES)
        return True

    def usage(self) -> tuple[int, int]:
        """(requests, retries) in the current window."""
        requests, retries = self._counts.totals()
        return requests, retries
