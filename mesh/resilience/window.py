"""Counts over a sliding time window, in a ring of buckets: O(1) to add, O(buckets) to sum."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


class SlidingCounts:
    """`width` counters summed over the last `window_seconds`, in `buckets` slices; a slice
    older than the window is cleared when time reaches it again."""

    __slots__ = ("_clock", "_counts", "_slice", "_stamps", "_width")

    def __init__(
        self,
        window_seconds: float,
        *,
        width: int = 2,
        buckets: int = 10,
        clock: Clock = time.monotonic,
    ) -> None:
        if window_seconds <= 0 or buckets < 1 or width < 1:
            raise ValueError("window_seconds must be > 0, buckets and width >= 1")
        self._slice = window_seconds / buckets
        self._clock = clock
        self._width = width
        self._counts = [[0] * width for _ in range(buckets)]
        self._stamps = [-1] * buckets  # the slice number each bucket holds

    def add(self, column: int, n: int = 1) -> None:
        index = int(self._clock() / self._slice)
        slot = index % len(self._stamps)
        if self._stamps[slot] != index:
            self._stamps[slot] = index
            counts = self._counts[slot]
            for i in range(self._width):
                counts[i] = 0
        self._counts[slot][column] += n

    def totals(self) -> list[int]:
        index = int(self._clock() / self._slice)
        oldest = index - len(self._stamps) + 1
        totals = [0] * self._width
        for stamp, counts in zip(self._stamps, self._counts, strict=True):
            if stamp >= oldest:
                for i in range(self._width):
                    totals[i] += counts[i]
        return totals

    def clear(self) -> None:
        for i in range(len(self._stamps)):
            self._stamps[i] = -1
