"""Per-user and per-route rate limits at the edge: token buckets from config, answered with
`RateLimit-*` headers and, over the limit, 429 with `Retry-After`."""

from __future__ import annotations

from edge.limits.config import Rate, RateLimitConfig
from edge.limits.decision import UNLIMITED, Decision, rate_limited
from edge.limits.limiter import RateLimiter

__all__ = ["UNLIMITED", "Decision", "Rate", "RateLimitConfig", "RateLimiter", "rate_limited"]
