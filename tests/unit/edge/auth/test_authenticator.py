"""EdgeAuth: real tokens through the real verifier, verified once per token while they live,
refused with the interceptor's reasons, and revocation winning over the cache."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from edge.auth import EdgeAuth, EdgeAuthConfig
from edge.errors import EdgeError, error_headers
from mesh.tokens import AsyncTokenVerifier, JwksCache, KeyRing, TokenIssuer
from tests.conftest import eventually
from tests.unit.edge.auth.conftest import World, bearer, reason_of


async def refused(auth: EdgeAuth, authorization: str) -> tuple[int, str, dict[str, str]]:
    with pytest.raises(EdgeError) as info:
        await auth.authenticate(authorization)
    return reason_of(info.value)


async def test_no_header_is_no_principal(world: World) -> None:
    assert await world.auth().authenticate(None) is None
    assert world.verifier.calls == 0


async def test_a_valid_token_gives_its_principal(world: World) -> None:
    issued = world.access(("trader", "viewer"))
    principal = await world.auth().authenticate(bearer(issued))
    assert principal is not None
    assert principal.user_id == issued.claims.subject
    assert principal.session_id == issued.claims.session_id
    assert principal.roles == frozenset({"trader", "viewer"})
    assert principal.token == issued.token


async def test_the_scheme_is_case_insensitive_and_spaces_around_are_ignored(world: World) -> None:
    issued = world.access()
    principal = await world.auth().authenticate(f"  bEaReR   {issued.token} ")
    assert principal is not None and principal.token == issued.token


async def test_a_cached_token_is_not_verified_again(world: World) -> None:
    auth = world.auth()
    first, second = world.access(), world.access()
    for _ in range(5):
        assert await auth.authenticate(bearer(first)) is not None
    assert world.verifier.calls == 1
    await auth.authenticate(bearer(second))
    await auth.authenticate(bearer(first))
    assert world.verifier.calls == 2
    assert auth.cached_tokens == 2


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "TOKEN_MISSING"),
        ("   ", "TOKEN_MISSING"),
        # The same reason as the services' interceptor gives for a malformed header.
        ("Bearer", "TOKEN_MALFORMED"),
        ("Bearer  ", "TOKEN_MALFORMED"),
        ("Basic dXNlcjpwYXNz", "TOKEN_MALFORMED"),
        ("Bearer a b", "TOKEN_MALFORMED"),
        ("Token abc", "TOKEN_MALFORMED"),
        ("abc", "TOKEN_MALFORMED"),
    ],
)
async def test_a_malformed_header_is_refused_without_verifying(
    world: World, header: str, expected: str
) -> None:
    status, reason, _ = await refused(world.auth(), header)
    assert (status, reason) == (401, expected)
    assert world.verifier.calls == 0


async def test_refusals_carry_www_authenticate(world: World) -> None:
    with pytest.raises(EdgeError) as info:
        await world.auth().authenticate("Bearer not-a-token")
    assert "Bearer" in error_headers(info.value.status)["WWW-Authenticate"]


async def test_bad_tokens_are_token_invalid_naming_the_verifier_reason(world: World) -> None:
    auth = world.auth()
    good = world.access().token
    head, payload, signature = good.split(".")
    tampered = f"{head}.{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    other_ring = KeyRing.generate(retention_seconds=3600, now=world.clock)
    foreign = (
        TokenIssuer(world.config, other_ring, now=world.clock)
        .issue_access(subject="u", session_id="s", roles=("trader",))
        .token
    )
    refresh = world.issuer.issue_refresh(subject="u", session_id="s").token
    cases = {
        "garbage": "malformed",
        tampered: "bad_signature",
        foreign: "unknown_kid",
        refresh: "wrong_type",
    }
    for token, token_error in cases.items():
        status, reason, metadata = await refused(auth, f"Bearer {token}")
        assert (status, reason, metadata) == (401, "TOKEN_INVALID", {"token_error": token_error})
    assert auth.cached_tokens == 0
    calls = world.verifier.calls
    await refused(auth, f"Bearer {tampered}")
    assert world.verifier.calls == calls + 1  # refusals are not cached


async def test_an_expired_token_in_the_cache_is_refused(world: World) -> None:
    auth = world.auth(EdgeAuthConfig(cache_max_age_seconds=3600))
    issued = world.access()
    await auth.authenticate(bearer(issued))
    world.clock.value = issued.claims.expires_at - 1
    await auth.authenticate(bearer(issued))
    assert world.verifier.calls == 1  # still from the cache
    world.clock.value = issued.claims.expires_at + world.config.leeway_seconds + 1
    assert await refused(auth, bearer(issued)) == (
        401,
        "TOKEN_EXPIRED",
        {"token_error": "expired"},
    )
    assert world.verifier.calls == 2  # the cache did not answer
    assert auth.cached_tokens == 0


async def test_within_the_verifier_leeway_a_token_is_accepted_but_not_cached(world: World) -> None:
    auth = world.auth()
    issued = world.access()
    world.clock.value = issued.claims.expires_at + 1  # past exp, inside the 30 s leeway
    assert await auth.authenticate(bearer(issued)) is not None
    assert await auth.authenticate(bearer(issued)) is not None
    assert world.verifier.calls == 2
    assert auth.cached_tokens == 0


async def test_an_entry_lives_at_most_the_configured_age(world: World) -> None:
    auth = world.auth(EdgeAuthConfig(cache_max_age_seconds=60))
    issued = world.access()
    await auth.authenticate(bearer(issued))
    world.clock.advance(59)
    await auth.authenticate(bearer(issued))
    assert world.verifier.calls == 1
    world.clock.advance(2)
    await auth.authenticate(bearer(issued))
    assert world.verifier.calls == 2


async def test_the_least_recently_used_token_leaves_a_full_cache(world: World) -> None:
    auth = world.auth(EdgeAuthConfig(cache_max_entries=2))
    a, b, c = world.access(), world.access(), world.access()
    await auth.authenticate(bearer(a))
    await auth.authenticate(bearer(b))
    await auth.authenticate(bearer(a))  # b is now the least recently used
    await auth.authenticate(bearer(c))
    assert auth.cached_tokens == 2
    assert world.verifier.calls == 3
    await auth.authenticate(bearer(a))
    await auth.authenticate(bearer(c))
    assert world.verifier.calls == 3
    await auth.authenticate(bearer(b))
    assert world.verifier.calls == 4


async def test_revocation_wins_over_the_cache(world: World) -> None:
    async with world.auth() as auth:
        leaving = world.access()
        sibling = world.access(session_id=leaving.claims.session_id)
        staying = world.access()
        for issued in (leaving, sibling, staying):
            await auth.authenticate(bearer(issued))
        assert auth.cached_tokens == 3
        world.revoked.revoke(leaving.claims.session_id, leaving.claims.expires_at)
        assert auth.cached_tokens == 1  # the session's tokens left at once
        assert await refused(auth, bearer(leaving)) == (401, "SESSION_REVOKED", {})
        assert await refused(auth, bearer(sibling)) == (401, "SESSION_REVOKED", {})
        assert await auth.authenticate(bearer(staying)) is not None
        assert world.verifier.calls == 5


async def test_without_the_feed_every_request_still_checks_revocation(world: World) -> None:
    auth = world.auth()  # never started: not subscribed
    issued = world.access()
    await auth.authenticate(bearer(issued))
    world.revoked.revoke(issued.claims.session_id, issued.claims.expires_at)
    assert auth.cached_tokens == 1
    assert await refused(auth, bearer(issued)) == (401, "SESSION_REVOKED", {})
    assert auth.cached_tokens == 0


async def test_start_subscribes_once_and_stop_unsubscribes_and_clears(world: World) -> None:
    auth = world.auth()
    await auth.start()
    await auth.start()
    assert world.feed.subscribed == 1
    issued = world.access()
    await auth.authenticate(bearer(issued))
    await auth.stop()
    await auth.stop()
    assert world.feed.subscribed == 0
    assert auth.cached_tokens == 0
    await auth.authenticate(bearer(issued))
    world.revoked.revoke(issued.claims.session_id, issued.claims.expires_at)
    assert auth.cached_tokens == 1  # no longer told; the per-request check still refuses
    assert await refused(auth, bearer(issued)) == (401, "SESSION_REVOKED", {})


async def test_a_failing_revocation_check_is_unavailable(world: World) -> None:
    async def broken(session_id: str) -> bool:
        raise RuntimeError("revocation store down")

    auth = EdgeAuth(world.verifier, broken, now=world.clock)
    assert await refused(auth, bearer(world.access())) == (503, "SESSION_CHECK_UNAVAILABLE", {})


async def test_unreachable_signing_keys_are_unavailable_not_invalid(world: World) -> None:
    async def unreachable() -> dict[str, Any]:
        raise ConnectionError("identity is down")

    verifier = AsyncTokenVerifier(JwksCache(unreachable), world.config, now=world.clock)
    auth = EdgeAuth(verifier, world.revoked.is_revoked, now=world.clock)
    assert await refused(auth, bearer(world.access())) == (
        503,
        "TOKEN_KEYS_UNAVAILABLE",
        {"token_error": "jwks_unavailable"},
    )


async def test_concurrent_requests_with_one_new_token_verify_it_once(world: World) -> None:
    auth = world.auth()
    issued = world.access()
    world.verifier.gate = asyncio.Event()
    callers = [asyncio.create_task(auth.authenticate(bearer(issued))) for _ in range(50)]
    await world.verifier.entered.wait()
    world.verifier.gate.set()
    principals = await asyncio.gather(*callers)
    assert {p.user_id if p else None for p in principals} == {issued.claims.subject}
    assert world.verifier.calls == 1


async def test_concurrent_requests_with_one_bad_token_share_the_refusal(world: World) -> None:
    auth = world.auth()
    world.verifier.gate = asyncio.Event()
    callers = [asyncio.create_task(refused(auth, "Bearer x.y.z")) for _ in range(20)]
    await world.verifier.entered.wait()
    world.verifier.gate.set()
    answers = await asyncio.gather(*callers)
    assert {answer[1] for answer in answers} == {"TOKEN_INVALID"}
    assert world.verifier.calls == 1
    await refused(auth, "Bearer x.y.z")  # nothing left in flight: verified afresh
    assert world.verifier.calls == 2


async def test_a_caller_cancelled_mid_verify_leaves_it_running_for_the_others(
    world: World,
) -> None:
    auth = world.auth()
    issued = world.access()
    world.verifier.gate = asyncio.Event()
    leaving = asyncio.create_task(auth.authenticate(bearer(issued)))
    await world.verifier.entered.wait()
    staying = asyncio.create_task(auth.authenticate(bearer(issued)))
    await asyncio.sleep(0)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    world.verifier.gate.set()
    principal = await staying
    assert principal is not None and principal.token == issued.token
    assert world.verifier.calls == 1
    assert auth.cached_tokens == 1


async def test_when_every_caller_is_cancelled_the_verification_still_fills_the_cache(
    world: World,
) -> None:
    auth = world.auth()
    issued = world.access()
    world.verifier.gate = asyncio.Event()
    callers = [asyncio.create_task(auth.authenticate(bearer(issued))) for _ in range(3)]
    await world.verifier.entered.wait()
    for caller in callers:
        caller.cancel()
    await asyncio.gather(*callers, return_exceptions=True)
    world.verifier.gate.set()

    async def cached() -> bool:
        return auth.cached_tokens == 1

    await eventually(cached, timeout=5, interval=0.01, what="the verified token cached")
    assert await auth.authenticate(bearer(issued)) is not None
    assert world.verifier.calls == 1


async def test_a_session_revoked_while_its_token_is_being_verified_is_refused(
    world: World,
) -> None:
    async with world.auth() as auth:
        issued = world.access()
        world.verifier.gate = asyncio.Event()
        caller = asyncio.create_task(refused(auth, bearer(issued)))
        await world.verifier.entered.wait()
        world.revoked.revoke(issued.claims.session_id, issued.claims.expires_at)
        world.verifier.gate.set()
        assert await caller == (401, "SESSION_REVOKED", {})
        assert auth.cached_tokens == 0
