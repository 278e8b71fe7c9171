"""Token buckets per caller (and per listed route), in bounded memory: O(1) per check, the
least recently used bucket evicted first, and buckets idle long enough to be full dropped as
they are met (a full bucket is the same as none)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from edge.limits.config import Rate, RateLimitConfig
from edge.limits.decision import UNLIMITED, Decision, rate_limited

# How many idle buckets one check may drop: enough to keep pace with new keys, O(1) still.
_SWEEP_PER_CHECK = 2

_BucketKey = tuple[bool, str, str]  # (anonymous, caller, route or "" for the caller's own)


class _Bucket:
    __slots__ = ("rate", "tokens", "updated")

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = float(rate.burst)
        self.updated = now

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(
            float(self.rate.burst), self.tokens + elapsed * self.rate.requests_per_second
        )
        self.updated = now

    def is_full_at(self, now: float) -> bool:
        elapsed = max(0.0, now - self.updated)
        return self.tokens + elapsed * self.rate.requests_per_second >= self.rate.burst


class RateLimiter:
    """`check` draws one request from the caller's bucket for a route; `admit` does the same
    and raises the 429 `EdgeError` when refused. Not thread-safe: one event loop calls it."""

    def __init__(
        self, config: RateLimitConfig, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._config = config
        self._now = now
        self._buckets: OrderedDict[_BucketKey, _Bucket] = OrderedDict()
        self._user_rate = config.user_rate
        self._anonymous_rate = config.anonymous_rate
        self._route_rates = dict(config.route_rates)
        self._anonymous_route_rates = {
            route: rate.stricter(self._anonymous_rate) for route, rate in self._route_rates.items()
        }

    def __len__(self) -> int:
        """Buckets tracked now."""
        return len(self._buckets)

    def check(self, key: str, route_key: str, *, anonymous: bool = False) -> Decision:
        """Draw a request for caller `key` (a user id, or the client address when
        `anonymous`) on `route_key` (`METHOD /template`)."""
        if not self._config.enabled:
            return UNLIMITED
        now = self._now()
        self._sweep(now)
        rates = self._anonymous_route_rates if anonymous else self._route_rates
        rate = rates.get(route_key)
        bucket_key = (anonymous, key, route_key if rate is not None else "")
        if rate is None:
            rate = self._anonymous_rate if anonymous else self._user_rate
        bucket = self._buckets.get(bucket_key)
        if bucket is None:
            bucket = self._buckets[bucket_key] = _Bucket(rate, now)
            while len(self._buckets) > self._config.max_tracked_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(bucket_key)
            bucket.refill(now)
        allowed = bucket.tokens >= 1.0
        if allowed:
            bucket.tokens -= 1.0
        per_second = rate.requests_per_second
        return Decision(
            allowed=allowed,
            limit=rate.burst,
            remaining=int(bucket.tokens),
            reset_seconds=(rate.burst - bucket.tokens) / per_second,
            retry_after_seconds=0.0 if allowed else (1.0 - bucket.tokens) / per_second,
            requests_per_second=per_second,
        )

    def admit(self, key: str, route_key: str, *, anonymous: bool = False) -> dict[str, str]:
        """`check`, answering the headers for the response, or raising the 429 `EdgeError`."""
        decision = self.check(key, route_key, anonymous=anonymous)
        if not decision.allowed:
            raise rate_limited(decision, route_key)
        return decision.headers()

    def _sweep(self, now: float) -> None:
        for _ in range(_SWEEP_PER_CHECK):
            if not self._buckets:
                return
            oldest = next(iter(self._buckets))
            if not self._buckets[oldest].is_full_at(now):
                return
            del self._buckets[oldest]
