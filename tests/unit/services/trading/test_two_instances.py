"""Two trading instances on one SQLite store fill a crossing quote once."""

from __future__ import annotations

from .harness import Harness
from .scenarios import two_instances_fill_once


async def test_a_crossing_quote_heard_by_two_instances_fills_once(harness: Harness) -> None:
    await two_instances_fill_once(harness)
