"""A log filter that lets a repeated message through once per interval, for libraries that
log every reconnect attempt (aiokafka retries a missing broker about every 50 ms)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

# Logger name prefixes whose repeats are folded, with the interval in seconds.
NOISY_LOGGERS: Mapping[str, float] = {"aiokafka": 30.0}


class RepeatFilter(logging.Filter):
    """On a handler: passes the first record of each (logger, message template) of a noisy
    library per interval; the next one that passes says how many were held back meanwhile.
    Records of other loggers pass untouched."""

    def __init__(
        self,
        intervals: Mapping[str, float] = NOISY_LOGGERS,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._intervals = dict(intervals)
        self._now = now
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def _interval(self, name: str) -> float | None:
        for prefix, interval in self._intervals.items():
            if name == prefix or name.startswith(prefix + "."):
                return interval
        return None

    def filter(self, record: logging.LogRecord) -> bool:
        interval = self._interval(record.name)
        if interval is None:
            return True
        key = (record.name, str(record.msg))
        now = self._now()
        last = self._seen.get(key)
        if last is not None and now - last[0] < interval:
            self._seen[key] = (last[0], last[1] + 1)
            return False
        held = 0 if last is None else last[1]
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} ({held} more like it in the last {interval:.0f}s)"
        return True
