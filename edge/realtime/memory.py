"""Garbage-collector tuning for a process that holds many sockets and fans events out to them."""

from __future__ import annotations

import gc

# A fan-out to thousands of members allocates many short-lived packets and tasks; with the
# default thresholds (2000, 10, 10) full collections then walk every long-lived socket object
# and stalled 1,000-member fan-outs for 0.25-1.9 s. Fewer, larger young collections and
# frozen start-up objects removed the stalls.
THRESHOLDS: tuple[int, int, int] = (50_000, 20, 100)


def tune_gc(thresholds: tuple[int, int, int] = THRESHOLDS) -> tuple[int, int, int]:
    """Call once after start-up: moves every object alive now (modules, descriptors, codecs)
    to the permanent generation so collections never scan them, and raises the thresholds.
    Returns the previous thresholds."""
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
    return previous
