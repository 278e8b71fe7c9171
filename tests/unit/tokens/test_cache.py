"""JwksCache: TTL caching, refetch on unknown kid, rate limiting, failures.

The cache takes its transport as an injected async callable (in production, identity's
GetJwks over gRPC). `IdentityJwks` below is that seam filled with a real KeyRing's JWKS; it
stands in for the network hop only, not for any component's behaviour.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from typing import Any

import pytest

from mesh.tokens import (
    AsyncTokenVerifier,
    JwksCache,
    KeyRing,
    TokenConfig,
    TokenError,
    TokenErrorReason,
    TokenIssuer,
)

from .conftest import FakeClock

TTL = 300.0
MIN_INTERVAL = 30.0


class IdentityJwks:
    """Serves a key ring's JWKS the way identity would, counting the fetches."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self.calls = 0
        self.failing = False
        self.document: Mapping[str, Any] | None = None
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> Mapping[str, Any]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.failing:
            raise ConnectionError("identity unavailable")
        return self.document if self.document is not None else self.ring.jwks()


@pytest.fixture
def identity(ring: KeyRing) -> IdentityJwks:
    return IdentityJwks(ring)


@pytest.fixture
def monotonic() -> FakeClock:
    return FakeClock(start=1000.0)


@pytest.fixture
def cache(identity: IdentityJwks, monotonic: FakeClock) -> JwksCache:
    return JwksCache(
        identity, ttl_seconds=TTL, min_refresh_interval_seconds=MIN_INTERVAL, now=monotonic
    )


async def _reason(cache: JwksCache, kid: str) -> str:
    with pytest.raises(TokenError) as excinfo:
        await cache.get_key(kid)
    return excinfo.value.reason


async def test_keys_are_cached_for_the_ttl(
    cache: JwksCache, identity: IdentityJwks, ring: KeyRing, monotonic: FakeClock
) -> None:
    key = await cache.get_key(ring.current.kid)
    assert key == ring.current.public_key
    monotonic.advance(TTL - 1)
    await cache.get_key(ring.current.kid)
    assert identity.calls == 1

    monotonic.advance(1)
    await cache.get_key(ring.current.kid)
    assert identity.calls == 2


async def test_unknown_kid_after_rotation_triggers_one_refetch(
    cache: JwksCache, identity: IdentityJwks, ring: KeyRing, monotonic: FakeClock
) -> None:
    await cache.get_key(ring.current.kid)
    monotonic.advance(MIN_INTERVAL)
    new_key = ring.rotate()

    assert await cache.get_key(new_key.kid) == new_key.public_key
    assert identity.calls == 2


async def test_random_kids_cannot_hammer_identity(
    cache: JwksCache, identity: IdentityJwks, ring: KeyRing, monotonic: FakeClock
) -> None:
    await cache.get_key(ring.current.kid)
    monotonic.advance(MIN_INTERVAL)

    reasons = await asyncio.gather(*(_reason(cache, secrets.token_hex(8)) for _ in range(50)))
    for _ in range(50):
        reasons.append(await _reason(cache, secrets.token_hex(8)))
        monotonic.advance(MIN_INTERVAL / 100)

    assert set(reasons) == {TokenErrorReason.UNKNOWN_KID}
    assert identity.calls == 2  # the first load and one refetch within the interval
    monotonic.advance(MIN_INTERVAL)
    assert await _reason(cache, secrets.token_hex(8)) == TokenErrorReason.UNKNOWN_KID
    assert identity.calls == 3


async def test_concurrent_first_lookups_share_one_fetch(
    cache: JwksCache, identity: IdentityJwks, ring: KeyRing
) -> None:
    identity.gate = asyncio.Event()
    lookups = [asyncio.create_task(cache.get_key(ring.current.kid)) for _ in range(20)]
    await asyncio.sleep(0)
    identity.gate.set()
    keys = await asyncio.gather(*lookups)
    assert all(key == ring.current.public_key for key in keys)
    assert identity.calls == 1


async def test_failed_refresh_keeps_the_previous_keys(
    cache: JwksCache, identity: IdentityJwks, ring: KeyRing, monotonic: FakeClock
) -> None:
    await cache.get_key(ring.current.kid)
    identity.failing = True
    monotonic.advance(TTL)

    assert await cache.get_key(ring.current.kid) == ring.current.public_key
    assert identity.calls == 2
    # Still failing: further lookups within the interval do not retry.
    assert await cache.get_key(ring.current.kid) == ring.current.public_key
    assert identity.calls == 2

    identity.failing = False
    monotonic.advance(MIN_INTERVAL)
    await cache.get_key(ring.current.kid)
    assert identity.calls == 3


async def test_no_keys_at_all_is_jwks_unavailable(
    cache: JwksCache, identity: IdentityJwks, ring: KeyRing, monotonic: FakeClock
) -> None:
    identity.failing = True
    assert await _reason(cache, ring.current.kid) == TokenErrorReason.JWKS_UNAVAILABLE
    assert await _reason(cache, ring.current.kid) == TokenErrorReason.JWKS_UNAVAILABLE
    assert identity.calls == 1

    identity.failing = False
    monotonic.advance(MIN_INTERVAL)
    assert await cache.get_key(ring.current.kid) == ring.current.public_key


async def test_malformed_jwks_counts_as_a_failed_fetch(
    cache: JwksCache, identity: IdentityJwks, ring: KeyRing
) -> None:
    identity.document = {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "!!"}]}
    assert await _reason(cache, ring.current.kid) == TokenErrorReason.JWKS_UNAVAILABLE


async def test_slow_identity_is_cut_off(identity: IdentityJwks, ring: KeyRing) -> None:
    identity.gate = asyncio.Event()  # never set: the fetch hangs
    cache = JwksCache(identity, fetch_timeout_seconds=0.05)
    assert await _reason(cache, ring.current.kid) == TokenErrorReason.JWKS_UNAVAILABLE


@pytest.mark.parametrize(
    "name", ["ttl_seconds", "min_refresh_interval_seconds", "fetch_timeout_seconds"]
)
def test_bad_settings_fail_naming_the_parameter(identity: IdentityJwks, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        JwksCache(identity, **{name: 0})  # type: ignore[arg-type]


async def test_async_verifier_verifies_through_the_cache(
    cache: JwksCache,
    identity: IdentityJwks,
    ring: KeyRing,
    issuer: TokenIssuer,
    config: TokenConfig,
    clock: FakeClock,
    monotonic: FakeClock,
) -> None:
    verifier = AsyncTokenVerifier(cache, config, now=clock)
    before = issuer.issue_access(subject="u1", session_id="s1", roles=["viewer"])
    assert (await verifier.verify_access(before.token)).roles == ("viewer",)

    monotonic.advance(MIN_INTERVAL)
    ring.rotate()
    after = issuer.issue_refresh(subject="u1", session_id="s1")
    assert (await verifier.verify_refresh(after.token)).session_id == "s1"
    assert (await verifier.verify_access(before.token)).subject == "u1"
    assert identity.calls == 2

    with pytest.raises(TokenError) as excinfo:
        await verifier.verify_access(after.token)
    assert excinfo.value.reason == TokenErrorReason.WRONG_TYPE


async def test_a_caller_that_goes_away_does_not_cut_the_first_fetch_short(
    identity: IdentityJwks, ring: KeyRing, monotonic: FakeClock
) -> None:
    cache = JwksCache(identity, min_refresh_interval_seconds=MIN_INTERVAL, now=monotonic)
    identity.gate = asyncio.Event()
    first = asyncio.create_task(cache.get_key(ring.current.kid))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    first.cancel()  # the first caller's deadline fires while identity is answering
    with pytest.raises(asyncio.CancelledError):
        await first
    identity.gate.set()
    # The fetch carried on without it: the next caller gets the key at once, no 30 s wait.
    assert await cache.get_key(ring.current.kid) is not None
    assert identity.calls == 1


async def test_with_no_keys_yet_a_failed_fetch_is_retried_soon(
    identity: IdentityJwks, ring: KeyRing, monotonic: FakeClock
) -> None:
    cache = JwksCache(
        identity, min_refresh_interval_seconds=MIN_INTERVAL, cold_retry_seconds=1.0, now=monotonic
    )
    identity.failing = True
    with pytest.raises(TokenError) as info:
        await cache.get_key(ring.current.kid)
    assert info.value.reason is TokenErrorReason.JWKS_UNAVAILABLE
    identity.failing = False
    monotonic.advance(0.5)
    with pytest.raises(TokenError):
        await cache.get_key(ring.current.kid)  # still within the cold retry interval
    assert identity.calls == 1
    monotonic.advance(0.6)
    assert await cache.get_key(ring.current.kid) is not None
    assert identity.calls == 2
