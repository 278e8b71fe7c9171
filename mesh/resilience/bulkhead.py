"""A cap on the calls in flight to one upstream service; the excess fails at once."""

from __future__ import annotations


class Bulkhead:
    """`try_enter()` takes a slot if one is free; `leave()` gives it back. Non-blocking on
    purpose: a caller over the cap is told at once (RESOURCE_EXHAUSTED) rather than queued, so
    one slow upstream cannot pile up every caller's memory and tasks."""

    __slots__ = ("in_flight", "limit", "shed")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.shed = 0

    def try_enter(self) -> bool:
        if self.in_flight >= self.limit:
            self.shed += 1
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1
