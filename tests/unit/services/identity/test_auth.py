"""Register, login, lockout, refresh rotation and reuse, logout and validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from trademesh.identity.v1 import events_pb2

from mesh import context
from mesh.errors import (
    AlreadyExists,
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from mesh.tokens import TokenType, TokenVerifier
from services.identity import Identity, PasswordHasher, build_identity
from services.identity.store import Role, UserChanges, UserStatus
from tests.unit.services.identity.conftest import (
    PASSWORD,
    EventLog,
    FakeClock,
    fast_config,
    principal,
    register,
)


async def test_register_normalises_email_grants_viewer_and_signs_in(
    identity: Identity, clock: FakeClock
) -> None:
    signed_in = await identity.auth.register(
        email="  Ada@Example.COM ", password=PASSWORD, display_name=" Ada "
    )
    user = signed_in.user
    assert (user.email, user.display_name, user.roles) == (
        "ada@example.com",
        "Ada",
        {Role.VIEWER},
    )
    verifier = TokenVerifier(identity.keys.jwks(), identity.keys.config, now=clock)
    access = verifier.verify_access(signed_in.tokens.access_token)
    assert (access.subject, access.session_id, access.roles) == (
        user.user_id,
        signed_in.tokens.session_id,
        ("viewer",),
    )
    assert access.expires_at - access.issued_at == 15 * 60 == signed_in.tokens.expires_in
    refresh = verifier.verify(signed_in.tokens.refresh_token, TokenType.REFRESH)
    assert refresh.expires_at - refresh.issued_at == 7 * 24 * 3600
    stored = await identity.store.get_user(user.user_id)
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


async def test_register_refuses_a_taken_email_in_any_case(identity: Identity) -> None:
    await register(identity, "ada@example.com")
    with pytest.raises(AlreadyExists):
        await register(identity, "ADA@example.com")


@pytest.mark.parametrize(
    ("email", "password", "name", "field"),
    [
        ("not-an-email", PASSWORD, "x", "email"),
        ("a@example.com", "short", "x", "password"),
        ("a@example.com", "x" * 129, "x", "password"),
        ("a@example.com", PASSWORD, "   ", "display_name"),
    ],
)
async def test_register_rejects_bad_input_with_field_violations(
    identity: Identity, email: str, password: str, name: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as info:
        await identity.auth.register(email=email, password=password, display_name=name)
    assert [v.field for v in info.value.violations] == [field]
    assert await identity.store.get_user_by_email(email) is None


async def test_login_opens_a_new_session(identity: Identity) -> None:
    registered = await register(identity, "ada@example.com")
    signed_in = await identity.auth.login(email="ADA@example.com", password=PASSWORD)
    assert signed_in.user.user_id == registered.user.user_id
    assert signed_in.tokens.session_id != registered.tokens.session_id


async def test_unknown_email_and_wrong_password_look_the_same(identity: Identity) -> None:
    await register(identity, "ada@example.com")
    with pytest.raises(Unauthenticated) as unknown:
        await identity.auth.login(email="bob@example.com", password=PASSWORD)
    with pytest.raises(Unauthenticated) as wrong:
        await identity.auth.login(email="ada@example.com", password="wrong password")
    assert unknown.value.message == wrong.value.message == "invalid email or password"
    assert unknown.value.reason == wrong.value.reason


async def test_repeated_failures_lock_the_account_with_backoff(
    identity: Identity, clock: FakeClock
) -> None:
    await register(identity, "ada@example.com")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await identity.auth.login(email="ada@example.com", password="wrong password")
    with pytest.raises(ResourceExhausted) as third:
        await identity.auth.login(email="ada@example.com", password="wrong password")
    assert third.value.retry_after_seconds == 60

    # While locked even the right password is refused, with the time left.
    clock.advance(20)
    with pytest.raises(ResourceExhausted) as locked:
        await identity.auth.login(email="ada@example.com", password=PASSWORD)
    assert locked.value.retry_after_seconds == 40

    # Waiting the lockout out does not reset the count: the next failure locks for longer.
    clock.advance(41)
    with pytest.raises(ResourceExhausted) as longer:
        await identity.auth.login(email="ada@example.com", password="wrong password")
    assert longer.value.retry_after_seconds == 120

    clock.advance(121)
    assert (await identity.auth.login(email="ada@example.com", password=PASSWORD)).user
    # Success clears the counter.
    with pytest.raises(Unauthenticated):
        await identity.auth.login(email="ada@example.com", password="wrong password")


async def test_unknown_emails_lock_like_real_ones(identity: Identity) -> None:
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await identity.auth.login(email="ghost@example.com", password=PASSWORD)
    with pytest.raises(ResourceExhausted):
        await identity.auth.login(email="ghost@example.com", password=PASSWORD)


async def test_disabled_account_is_refused_only_with_the_right_password(
    identity: Identity,
) -> None:
    ada = await register(identity, "ada@example.com")
    await identity.store.update_user(
        ada.user.user_id, UserChanges(status=UserStatus.DISABLED), now=0
    )
    with pytest.raises(Unauthenticated):
        await identity.auth.login(email="ada@example.com", password="wrong password")
    with pytest.raises(PermissionDenied):
        await identity.auth.login(email="ada@example.com", password=PASSWORD)


async def test_login_upgrades_a_hash_made_with_old_parameters(identity: Identity) -> None:
    ada = await register(identity, "ada@example.com")
    weaker = PasswordHasher(time_cost=1, memory_kib=16, parallelism=1)
    old_hash = await weaker.hash(PASSWORD)
    await identity.store.set_password_hash(ada.user.user_id, old_hash, now=0)

    await identity.auth.login(email="ada@example.com", password=PASSWORD)
    stored = await identity.store.get_user(ada.user.user_id)
    assert stored is not None and stored.password_hash != old_hash
    assert "m=8," in stored.password_hash


async def test_refresh_rotates_the_refresh_token(identity: Identity, clock: FakeClock) -> None:
    ada = await register(identity, "ada@example.com")
    clock.advance(60)
    first = await identity.auth.refresh(ada.tokens.refresh_token)
    assert first.session_id == ada.tokens.session_id
    assert first.refresh_token != ada.tokens.refresh_token
    assert first.access_expires_at == ada.tokens.access_expires_at + 60
    clock.advance(60)
    second = await identity.auth.refresh(first.refresh_token)
    assert (await identity.auth.validate(second.access_token)).valid


async def test_reusing_a_refresh_token_revokes_the_whole_session(
    identity: Identity, event_log: EventLog
) -> None:
    ada = await register(identity, "ada@example.com")
    rotated = await identity.auth.refresh(ada.tokens.refresh_token)

    with context.bind(correlation_id="corr-reuse"), pytest.raises(Unauthenticated) as info:
        await identity.auth.refresh(ada.tokens.refresh_token)
    assert info.value.reason == "REFRESH_TOKEN_REUSED"

    # The thief's and the owner's tokens are all dead now.
    with pytest.raises(Unauthenticated):
        await identity.auth.refresh(rotated.refresh_token)
    for token in (ada.tokens.access_token, rotated.access_token):
        result = await identity.auth.validate(token)
        assert (result.valid, result.reason) == (False, "revoked")

    (event,) = event_log.events
    assert event.reason == events_pb2.REVOCATION_REASON_REFRESH_TOKEN_REUSE
    assert (event.session_id, event.user_id) == (ada.tokens.session_id, ada.user.user_id)
    assert event.correlation_id == "corr-reuse"
    assert event.access_token_expire_time.seconds == rotated.access_expires_at


@pytest.mark.parametrize("kind", ["access", "garbage", "empty"])
async def test_refresh_refuses_anything_but_a_refresh_token(identity: Identity, kind: str) -> None:
    ada = await register(identity, "ada@example.com")
    token = {"access": ada.tokens.access_token, "garbage": "x.y.z", "empty": ""}[kind]
    with pytest.raises(Unauthenticated) as info:
        await identity.auth.refresh(token)
    assert info.value.reason == "INVALID_REFRESH_TOKEN"


async def test_logout_revokes_the_session_once(identity: Identity, event_log: EventLog) -> None:
    ada = await register(identity, "ada@example.com")
    other = await identity.auth.login(email="ada@example.com", password=PASSWORD)
    with context.bind(correlation_id="corr-logout"):
        await identity.auth.logout(principal(ada))

    result = await identity.auth.validate(ada.tokens.access_token)
    assert (result.valid, result.reason) == (False, "revoked")
    with pytest.raises(Unauthenticated):
        await identity.auth.refresh(ada.tokens.refresh_token)
    # Another session of the same user lives on.
    assert (await identity.auth.validate(other.tokens.access_token)).valid

    (event,) = event_log.events
    assert event.reason == events_pb2.REVOCATION_REASON_LOGOUT
    assert event.correlation_id == "corr-logout"
    # Logging out again succeeds and announces nothing new.
    await identity.auth.logout(principal(ada))
    assert len(event_log.events) == 1


async def test_the_interceptor_hooks_see_revocations(identity: Identity) -> None:
    ada = await register(identity, "ada@example.com")
    claims = await identity.keys.verify_access(ada.tokens.access_token)
    assert claims.session_id == ada.tokens.session_id
    assert not await identity.is_session_revoked(ada.tokens.session_id)
    await identity.auth.logout(principal(ada))
    assert await identity.is_session_revoked(ada.tokens.session_id)
    assert await identity.is_session_revoked("no-such-session")


async def test_a_failing_publisher_does_not_undo_a_logout(tmp_path: Path, clock: FakeClock) -> None:
    async def broken(event: events_pb2.SessionRevoked) -> None:
        raise ConnectionError("broker down")

    async with await build_identity(fast_config(tmp_path), publish=broken, now=clock) as built:
        ada = await register(built, "ada@example.com")
        await built.auth.logout(principal(ada))
        assert (await built.auth.validate(ada.tokens.access_token)).reason == "revoked"


async def test_prune_forgets_long_expired_sessions(identity: Identity, clock: FakeClock) -> None:
    ada = await register(identity, "ada@example.com")
    clock.advance(7 * 86400 + identity.config.expired_session_retention_seconds + 1)
    assert await identity.prune() >= 1
    assert await identity.store.get_session(ada.tokens.session_id) is None


async def test_logout_of_all_sessions(identity: Identity, event_log: EventLog) -> None:
    ada = await register(identity, "ada@example.com")
    other = await identity.auth.login(email="ada@example.com", password=PASSWORD)
    await identity.auth.logout(principal(ada), all_sessions=True)
    for signed_in in (ada, other):
        assert not (await identity.auth.validate(signed_in.tokens.access_token)).valid
    assert {e.session_id for e in event_log.events} == {
        ada.tokens.session_id,
        other.tokens.session_id,
    }


async def test_logout_needs_a_principal(identity: Identity) -> None:
    with pytest.raises(Unauthenticated):
        await identity.auth.logout(None)


async def test_validate_reports_claims_or_why_not(identity: Identity, clock: FakeClock) -> None:
    ada = await register(identity, "ada@example.com")
    result = await identity.auth.validate(ada.tokens.access_token)
    assert result.valid and result.reason == ""
    assert (result.user_id, result.session_id, result.roles) == (
        ada.user.user_id,
        ada.tokens.session_id,
        ("viewer",),
    )
    assert result.expires_at == ada.tokens.access_expires_at

    # An empty token means the caller's own.
    assert (await identity.auth.validate("", principal(ada))).user_id == ada.user.user_id
    assert (await identity.auth.validate("")).reason == "missing"
    assert (await identity.auth.validate("garbage")).reason == "malformed"
    assert (await identity.auth.validate(ada.tokens.refresh_token)).reason == "wrong_type"
    clock.advance(15 * 60 + 31)
    assert (await identity.auth.validate(ada.tokens.access_token)).reason == "expired"
