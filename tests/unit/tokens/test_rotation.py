"""Key rotation: old tokens stay verifiable until they expire, then their key is dropped."""

from __future__ import annotations

import jwt

from mesh.tokens import (
    KeyRing,
    TokenConfig,
    TokenError,
    TokenErrorReason,
    TokenIssuer,
    TokenVerifier,
)

from .conftest import FakeClock


def _kids(jwks: dict[str, list[dict[str, str]]]) -> list[str]:
    return [key["kid"] for key in jwks["keys"]]


def test_rotation_keeps_old_tokens_until_they_expire(
    ring: KeyRing, issuer: TokenIssuer, config: TokenConfig, clock: FakeClock
) -> None:
    old_kid = ring.current.kid
    old_refresh = issuer.issue_refresh(subject="u1", session_id="s1")
    old_access = issuer.issue_access(subject="u1", session_id="s1", roles=["trader"])

    clock.advance(60)
    new_key = ring.rotate()

    assert ring.current is new_key and new_key.kid != old_kid
    assert _kids(ring.jwks()) == [new_key.kid, old_kid]
    new_access = issuer.issue_access(subject="u1", session_id="s2", roles=["trader"])
    assert jwt.get_unverified_header(new_access.token)["kid"] == new_key.kid

    verifier = TokenVerifier(ring.jwks(), config, now=clock)
    assert verifier.verify_access(old_access.token).session_id == "s1"
    assert verifier.verify_access(new_access.token).session_id == "s2"

    # The longest-lived token signed by the old key is still good near its end.
    clock.value = old_refresh.claims.expires_at - 1
    assert TokenVerifier(ring.jwks(), config, now=clock).verify_refresh(old_refresh.token)
    assert ring.prune() == ()

    # Once every token the old key signed has expired, the key is no longer published.
    clock.value = old_refresh.claims.expires_at + config.leeway_seconds + 60
    assert _kids(ring.jwks()) == [new_key.kid]
    assert ring.prune() == (old_kid,)
    assert ring.find(old_kid) is None
    try:
        TokenVerifier(ring.jwks(), config, now=clock).verify_refresh(old_refresh.token)
    except TokenError as error:
        assert error.reason == TokenErrorReason.UNKNOWN_KID
    else:
        raise AssertionError("a token signed by a dropped key was accepted")


def test_rotating_twice_keeps_both_retired_keys(ring: KeyRing, clock: FakeClock) -> None:
    first = ring.current.kid
    clock.advance(10)
    second = ring.rotate().kid
    clock.advance(10)
    third = ring.rotate().kid
    assert _kids(ring.jwks()) == [third, second, first]
    # The older retired key expires first.
    clock.advance(ring.retention_seconds - 5)
    assert _kids(ring.jwks()) == [third, second]
