"""RateLimiter: token bucket arithmetic on a hand-driven clock, per-user and per-route
buckets, anonymous callers, bounded memory, and the 429 it raises."""

from __future__ import annotations

import pytest
from google.rpc import error_details_pb2

from edge.errors import EdgeError, error_headers, retry_after_seconds
from edge.limits import UNLIMITED, RateLimitConfig, RateLimiter

ORDERS = "POST /api/v1/orders"
STOCKS = "GET /api/v1/stocks"


class Clock:
    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def limiter(clock: Clock, **settings: object) -> RateLimiter:
    return RateLimiter(RateLimitConfig(**settings), now=clock)  # type: ignore[arg-type]


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    limits = limiter(clock, user_requests_per_second=2.0, user_burst=4)
    assert [limits.check("u", STOCKS).remaining for _ in range(4)] == [3, 2, 1, 0]
    refused = limits.check("u", STOCKS)
    assert not refused.allowed
    assert refused.retry_after_seconds == pytest.approx(0.5)
    assert refused.reset_seconds == pytest.approx(2.0)
    clock.value += 0.25
    still = limits.check("u", STOCKS)
    assert not still.allowed and still.retry_after_seconds == pytest.approx(0.25)
    clock.value += 0.25
    again = limits.check("u", STOCKS)
    assert again.allowed and again.remaining == 0
    clock.value += 60  # refills to the burst, never past it
    assert limits.check("u", STOCKS).remaining == 3


def test_headers_follow_the_decision() -> None:
    clock = Clock()
    limits = limiter(clock, user_requests_per_second=2.0, user_burst=2)
    assert limits.check("u", STOCKS).headers() == {
        "RateLimit-Limit": "2",
        "RateLimit-Remaining": "1",
        "RateLimit-Reset": "1",
    }
    limits.check("u", STOCKS)
    assert limits.check("u", STOCKS).headers() == {
        "RateLimit-Limit": "2",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "1",
        "Retry-After": "1",
    }
    clock.value += 1.0
    full = limits.check("v", STOCKS)
    assert full.headers()["RateLimit-Reset"] == "1"  # one request drawn: 0.5 s, rounded up


def test_each_user_has_a_bucket_of_their_own() -> None:
    limits = limiter(Clock(), user_requests_per_second=1.0, user_burst=1)
    assert limits.check("alice", STOCKS).allowed
    assert not limits.check("alice", STOCKS).allowed
    assert limits.check("bob", STOCKS).allowed


def test_a_listed_route_has_its_own_bucket_at_its_own_rate() -> None:
    limits = limiter(
        Clock(), user_requests_per_second=100.0, user_burst=10, routes=(f"{ORDERS}=1/2",)
    )
    orders = [limits.check("alice", ORDERS) for _ in range(3)]
    assert [d.allowed for d in orders] == [True, True, False]
    assert (orders[0].limit, orders[0].requests_per_second) == (2, 1.0)
    # Other routes draw from the user's own bucket, untouched by the orders above.
    stocks = limits.check("alice", STOCKS)
    assert (stocks.allowed, stocks.limit, stocks.remaining) == (True, 10, 9)
    assert limits.check("bob", ORDERS).allowed


def test_anonymous_callers_get_their_own_rate_and_the_stricter_on_listed_routes() -> None:
    limits = limiter(
        Clock(),
        user_burst=50,
        anonymous_requests_per_second=1.0,
        anonymous_burst=3,
        routes=(f"{ORDERS}=10/20",),
    )
    anonymous = limits.check("10.1.2.3", STOCKS, anonymous=True)
    assert (anonymous.limit, anonymous.requests_per_second) == (3, 1.0)
    listed = limits.check("10.1.2.3", ORDERS, anonymous=True)
    assert (listed.limit, listed.requests_per_second) == (3, 1.0)
    # The same text as a user id is another caller.
    assert limits.check("10.1.2.3", STOCKS).limit == 50


def test_memory_is_bounded_and_the_least_recently_used_bucket_goes_first() -> None:
    clock = Clock()
    limits = limiter(clock, user_requests_per_second=1.0, user_burst=2, max_tracked_keys=3)
    limits.check("k0", STOCKS)
    limits.check("k0", STOCKS)
    assert not limits.check("k0", STOCKS).allowed
    limits.check("k1", STOCKS)
    limits.check("k0", STOCKS)  # k0 used again: k1 is now the least recently used
    limits.check("k2", STOCKS)
    limits.check("k3", STOCKS)
    assert len(limits) == 3
    assert not limits.check("k0", STOCKS).allowed  # kept, still empty
    assert limits.check("k1", STOCKS).remaining == 1  # evicted: back with a full bucket
    for index in range(100):
        limits.check(f"flood{index}", STOCKS)
        assert len(limits) <= 3


def test_buckets_idle_until_full_are_dropped_as_they_are_met() -> None:
    clock = Clock()
    limits = limiter(clock, user_requests_per_second=1.0, user_burst=2)
    limits.check("a", STOCKS)
    limits.check("b", STOCKS)
    assert len(limits) == 2
    clock.value += 1.5  # a and b are full again
    limits.check("c", STOCKS)
    assert len(limits) == 1
    clock.value += 0.5  # not yet full: kept
    limits.check("d", STOCKS)
    assert len(limits) == 2


def test_a_disabled_limiter_admits_everything_without_headers() -> None:
    limits = limiter(Clock(), enabled=False, user_burst=1)
    for _ in range(5):
        assert limits.check("u", STOCKS) is UNLIMITED
        assert limits.admit("u", STOCKS) == {}
    assert len(limits) == 0


def test_admit_answers_headers_then_refuses_with_a_clear_429() -> None:
    limits = limiter(Clock(), routes=(f"{ORDERS}=2/1",))
    assert limits.admit("u", ORDERS)["RateLimit-Remaining"] == "0"
    with pytest.raises(EdgeError) as info:
        limits.admit("u", ORDERS)
    error = info.value
    assert error.http_status == 429
    assert error.status.message == (
        f"rate limit of 2 requests per second for {ORDERS} exceeded; retry in 1 s"
    )
    assert error.headers["Retry-After"] == "1"
    assert error.headers["RateLimit-Remaining"] == "0"
    assert retry_after_seconds(error.status) == 1
    assert error_headers(error.status) == {"Retry-After": "1"}
    info_detail = error_details_pb2.ErrorInfo()
    assert error.status.details[0].Unpack(info_detail)
    assert info_detail.reason == "RATE_LIMITED"
    assert dict(info_detail.metadata) == {
        "route": ORDERS,
        "requests_per_second": "2",
        "burst": "1",
    }
    retry = error_details_pb2.RetryInfo()
    assert error.status.details[1].Unpack(retry)
    assert retry.retry_delay.ToNanoseconds() == 500_000_000


def test_a_slow_rate_says_how_long_to_wait() -> None:
    limits = limiter(Clock(), user_requests_per_second=0.25, user_burst=1)
    limits.admit("u", STOCKS)
    with pytest.raises(EdgeError) as info:
        limits.admit("u", STOCKS)
    assert info.value.status.message.endswith(
        "0.25 requests per second for GET /api/v1/stocks exceeded; retry in 4 s"
    )
    assert info.value.headers["Retry-After"] == "4"
