"""Callers that vanish mid-call leave the SQLite store and the orders whole."""

from __future__ import annotations

from .harness import Harness
from .storm import vanishing_callers


async def test_tiny_deadlines_and_closed_channels_leave_everything_usable(
    harness: Harness,
) -> None:
    await vanishing_callers(harness)
