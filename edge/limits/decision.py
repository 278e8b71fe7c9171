"""What a rate limit check answers: allowed or not, the `RateLimit-*` headers of the IETF
draft (draft-ietf-httpapi-ratelimit-headers) and, for a refusal, a 429 with RetryInfo."""

from __future__ import annotations

import math
from dataclasses import dataclass

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

from edge.errors import EdgeError, error_info

# Float noise in refill arithmetic must not turn "full now" into "full in 1 s".
_EPSILON = 1e-9


def whole_seconds(seconds: float) -> int:
    """Seconds rounded up, as headers carry them."""
    return max(0, math.ceil(seconds - _EPSILON))


@dataclass(frozen=True, slots=True)
class Decision:
    """`limit` is the bucket's capacity (its burst), `remaining` the whole requests left in
    it now, `reset_seconds` the time until it is full again, `retry_after_seconds` the time
    until the next request would be allowed (0 when this one was)."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: float
    retry_after_seconds: float
    requests_per_second: float = 0.0

    @property
    def unlimited(self) -> bool:
        return self.limit == 0

    def headers(self) -> dict[str, str]:
        """`RateLimit-Limit`, `-Remaining`, `-Reset`, and `Retry-After` when refused; none
        when no limit applies."""
        if self.unlimited:
            return {}
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(whole_seconds(self.reset_seconds)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, whole_seconds(self.retry_after_seconds)))
        return headers


UNLIMITED = Decision(allowed=True, limit=0, remaining=0, reset_seconds=0.0, retry_after_seconds=0.0)


def rate_limited(decision: Decision, route: str) -> EdgeError:
    """The 429 for a refused `decision` on `route` (`POST /api/v1/orders`): RetryInfo and
    ErrorInfo RATE_LIMITED in the body, the decision's headers on the answer."""
    retry = max(1, whole_seconds(decision.retry_after_seconds))
    rate = f"{decision.requests_per_second:g}"
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(round(max(decision.retry_after_seconds, 0.0) * 1e9))
    return EdgeError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"rate limit of {rate} requests per second for {route} exceeded; retry in {retry} s",
        details=[
            error_info(
                "RATE_LIMITED",
                route=route,
                requests_per_second=rate,
                burst=str(decision.limit),
            ),
            error_details_pb2.RetryInfo(retry_delay=delay),
        ],
        headers=decision.headers(),
    )
