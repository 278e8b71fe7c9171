"""A room's recent events, numbered, so a client that comes back with the last number it saw
gets what it missed, or learns that it must resync."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

Event = dict[str, Any]  # {"room": ..., "seq": n, "data": {...}}


@dataclass(frozen=True)
class Replay:
    events: tuple[Event, ...]
    resync: bool  # events were missed that the buffer no longer holds (or never held)


class EventBuffer:
    """Sequence numbers start after `base` and grow by one per event; the newest `size`
    events are kept."""

    def __init__(self, size: int, base: int) -> None:
        self.base = base
        self.seq = base
        self._events: deque[Event] = deque(maxlen=size)

    def append(self, event: Event) -> None:
        self._events.append(event)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    @property
    def oldest(self) -> int:
        """The number of the oldest event held (seq + 1 when none is)."""
        return self._events[0]["seq"] if self._events else self.seq + 1

    def since(self, seq: int | None) -> Replay:
        """The events after `seq`. None: those since the room opened. A `seq` older than what
        is held (or newer than any issued: another edge's or an earlier process's numbers)
        asks for a resync, with the events held since the room opened."""
        if seq is not None and self.oldest - 1 <= seq <= self.seq:
            return Replay(tuple(e for e in self._events if e["seq"] > seq), resync=False)
        # What is held since the room opened, when it all still is; else nothing.
        held = tuple(self._events) if self.oldest == self.base + 1 else ()
        return Replay(held, resync=seq is not None)
