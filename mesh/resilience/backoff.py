"""Exponential backoff with full jitter: a uniform pause in [0, min(cap, base · 2^attempt))."""

from __future__ import annotations

import random
from collections.abc import Callable


def full_jitter(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """The pause before retry number `attempt + 1` (`attempt` counts from 0). Full jitter
    spreads the retries of many callers that failed together, so they do not come back in
    step."""
    return rand() * min(cap, base * (2.0 ** min(attempt, 62)))
