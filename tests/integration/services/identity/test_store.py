"""The identity store contract, run against SQLite and a real PostgreSQL alike."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from mesh.tokens import KeyRing
from services.identity.store import (
    MIGRATIONS,
    DuplicateEmail,
    InvalidPageToken,
    KeyRingConflict,
    RefreshTokenRecord,
    RevocationReason,
    Role,
    RotateStatus,
    SessionRecord,
    Store,
    StoreError,
    UserChanges,
    UserRecord,
    UserStatus,
    open_store,
)

NOW = 1_750_000_000.0
DAY = 86400.0


def make_user(
    email: str = "ada@example.com",
    *,
    created_at: float = NOW,
    roles: frozenset[Role] = frozenset({Role.VIEWER}),
) -> UserRecord:
    return UserRecord(
        user_id=str(uuid.uuid4()),
        email=email,
        display_name="Ada",
        roles=roles,
        status=UserStatus.ACTIVE,
        password_hash="$argon2id$stub",
        created_at=created_at,
        updated_at=created_at,
    )


def make_session(
    user_id: str, *, created_at: float = NOW
) -> tuple[SessionRecord, RefreshTokenRecord]:
    session_id = str(uuid.uuid4())
    session = SessionRecord(
        session_id=session_id,
        user_id=user_id,
        created_at=created_at,
        expires_at=created_at + 7 * DAY,
        access_expires_at=created_at + 900,
    )
    refresh = make_refresh(session_id, issued_at=created_at)
    return session, refresh


def make_refresh(session_id: str, *, issued_at: float = NOW) -> RefreshTokenRecord:
    return RefreshTokenRecord(
        token_id=uuid.uuid4().hex,
        session_id=session_id,
        issued_at=issued_at,
        expires_at=issued_at + 7 * DAY,
    )


async def test_migrate_is_idempotent_and_recorded(store: Store) -> None:
    # The fixture already migrated; a second run applies nothing and breaks nothing.
    assert await store.migrate() == ()
    assert [m.version for m in MIGRATIONS] == sorted({m.version for m in MIGRATIONS})
    assert await store.count_users() == 0


async def test_concurrent_migrations_apply_each_version_once(
    database_url: str | None, tmp_path: Path
) -> None:
    first = open_store(database_url, tmp_path / "shared.sqlite3")
    second = open_store(database_url, tmp_path / "shared.sqlite3")
    try:
        applied = await asyncio.gather(first.migrate(), second.migrate())
        assert sorted(applied[0] + applied[1]) == [m.version for m in MIGRATIONS]
    finally:
        await first.close()
        await second.close()


async def test_create_and_read_users(store: Store) -> None:
    user = make_user(roles=frozenset({Role.VIEWER, Role.TRADER}))
    await store.create_user(user)
    assert await store.get_user(user.user_id) == user
    assert await store.get_user_by_email("ada@example.com") == user
    assert await store.get_user_by_email("nobody@example.com") is None
    assert await store.get_user(str(uuid.uuid4())) is None


async def test_email_is_unique_among_live_users(store: Store) -> None:
    user = await store.create_user(make_user())
    with pytest.raises(DuplicateEmail):
        await store.create_user(make_user())
    await store.delete_user(user.user_id, now=NOW + 1)
    again = await store.create_user(make_user())
    assert (await store.get_user_by_email("ada@example.com")) == again


async def test_update_changes_only_given_fields(store: Store) -> None:
    user = await store.create_user(make_user())
    updated = await store.update_user(
        user.user_id,
        UserChanges(display_name="Countess", roles=frozenset({Role.ADMIN, Role.TRADER})),
        now=NOW + 5,
    )
    assert updated is not None
    assert updated.display_name == "Countess"
    assert updated.roles == {Role.ADMIN, Role.TRADER}
    assert (updated.email, updated.status, updated.password_hash) == (
        user.email,
        user.status,
        user.password_hash,
    )
    assert updated.updated_at == NOW + 5
    assert await store.get_user(user.user_id) == updated
    assert (
        await store.update_user(str(uuid.uuid4()), UserChanges(display_name="x"), now=NOW) is None
    )


async def test_update_to_a_taken_email_fails_and_changes_nothing(store: Store) -> None:
    await store.create_user(make_user("a@example.com"))
    other = await store.create_user(make_user("b@example.com"))
    with pytest.raises(DuplicateEmail):
        await store.update_user(
            other.user_id, UserChanges(email="a@example.com", display_name="B"), now=NOW
        )
    assert await store.get_user(other.user_id) == other


async def test_set_password_hash(store: Store) -> None:
    user = await store.create_user(make_user())
    assert await store.set_password_hash(user.user_id, "$argon2id$new", now=NOW + 1)
    fetched = await store.get_user(user.user_id)
    assert fetched is not None and fetched.password_hash == "$argon2id$new"
    assert not await store.set_password_hash(str(uuid.uuid4()), "x", now=NOW)


async def test_delete_is_soft_revokes_sessions_and_is_idempotent(store: Store) -> None:
    user = await store.create_user(make_user())
    session, refresh = make_session(user.user_id)
    await store.create_session(session, refresh)

    deletion = await store.delete_user(user.user_id, now=NOW + 10)
    assert deletion.found and not deletion.already_deleted
    assert [s.session_id for s in deletion.revoked_sessions] == [session.session_id]
    assert deletion.revoked_sessions[0].revoke_reason is RevocationReason.USER_DELETED

    assert await store.get_user(user.user_id) is None
    kept = await store.get_user(user.user_id, include_deleted=True)
    assert kept is not None and kept.deleted_at == NOW + 10 and kept.password_hash == ""
    assert await store.get_user_by_email(user.email) is None
    again = await store.delete_user(user.user_id, now=NOW + 20)
    assert again.found and again.already_deleted and again.revoked_sessions == ()
    assert not (await store.delete_user(str(uuid.uuid4()), now=NOW)).found


async def test_list_pages_oldest_first_with_opaque_tokens(store: Store) -> None:
    created = [
        await store.create_user(make_user(f"u{i}@example.com", created_at=NOW + i))
        for i in range(7)
    ]
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await store.list_users(page_size=3, page_token=token)
        seen.extend(user.user_id for user in page.users)
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == 3
    assert seen == [user.user_id for user in created]


async def test_list_ties_on_create_time_are_broken_by_id(store: Store) -> None:
    users = [await store.create_user(make_user(f"t{i}@example.com")) for i in range(5)]
    first = await store.list_users(page_size=2)
    rest = await store.list_users(page_size=10, page_token=first.next_page_token)
    listed = [u.user_id for u in first.users + rest.users]
    assert listed == sorted(u.user_id for u in users)


async def test_list_filters_by_role_and_skips_deleted(store: Store) -> None:
    admin = await store.create_user(make_user("admin@example.com", roles=frozenset(Role)))
    viewer = await store.create_user(make_user("v@example.com", created_at=NOW + 1))
    gone = await store.create_user(
        make_user("gone@example.com", created_at=NOW + 2, roles=frozenset(Role))
    )
    await store.delete_user(gone.user_id, now=NOW + 3)
    admins = await store.list_users(page_size=10, role=Role.ADMIN)
    assert [u.user_id for u in admins.users] == [admin.user_id]
    everyone = await store.list_users(page_size=10)
    assert [u.user_id for u in everyone.users] == [admin.user_id, viewer.user_id]
    assert await store.count_users() == 2
    assert await store.count_users(role=Role.ADMIN, status=UserStatus.ACTIVE) == 1
    assert await store.count_users(status=UserStatus.DISABLED) == 0


async def test_page_tokens_of_another_filter_or_garbled_are_refused(store: Store) -> None:
    for i in range(3):
        await store.create_user(make_user(f"p{i}@example.com", created_at=NOW + i))
    page = await store.list_users(page_size=1, role=Role.VIEWER)
    with pytest.raises(InvalidPageToken):
        await store.list_users(page_size=1, page_token=page.next_page_token)
    for garbage in ("not-a-token", "eyJ2IjoyfQ", "!!!"):
        with pytest.raises(InvalidPageToken):
            await store.list_users(page_size=1, page_token=garbage)


async def test_sessions_create_get_and_revoke(store: Store) -> None:
    user = await store.create_user(make_user())
    session, refresh = make_session(user.user_id)
    await store.create_session(session, refresh)
    assert await store.get_session(session.session_id) == session
    assert await store.get_refresh_token(refresh.token_id) == refresh

    revoked = await store.revoke_session(
        session.session_id, now=NOW + 1, reason=RevocationReason.LOGOUT
    )
    assert revoked is not None
    assert (revoked.revoked_at, revoked.revoke_reason) == (NOW + 1, RevocationReason.LOGOUT)
    assert await store.get_session(session.session_id) == revoked
    # Revoking again changes nothing and reports nothing.
    assert (
        await store.revoke_session(session.session_id, now=NOW + 2, reason=RevocationReason.LOGOUT)
        is None
    )


async def test_session_for_unknown_user_is_refused(store: Store) -> None:
    session, refresh = make_session(str(uuid.uuid4()))
    with pytest.raises(StoreError):
        await store.create_session(session, refresh)
    assert await store.get_session(session.session_id) is None


async def test_revoke_user_sessions_skips_revoked_and_expired(store: Store) -> None:
    user = await store.create_user(make_user())
    live, live_refresh = make_session(user.user_id, created_at=NOW)
    old, old_refresh = make_session(user.user_id, created_at=NOW - 8 * DAY)
    done, done_refresh = make_session(user.user_id, created_at=NOW)
    for session, refresh in ((live, live_refresh), (old, old_refresh), (done, done_refresh)):
        await store.create_session(session, refresh)
    await store.revoke_session(done.session_id, now=NOW, reason=RevocationReason.LOGOUT)

    revoked = await store.revoke_user_sessions(
        user.user_id, now=NOW + 1, reason=RevocationReason.USER_DISABLED
    )
    assert [s.session_id for s in revoked] == [live.session_id]
    assert revoked[0].revoke_reason is RevocationReason.USER_DISABLED
    done_now = await store.get_session(done.session_id)
    assert done_now is not None and done_now.revoke_reason is RevocationReason.LOGOUT


async def test_rotation_spends_the_old_token_and_moves_the_session_on(store: Store) -> None:
    user = await store.create_user(make_user())
    session, first = make_session(user.user_id)
    await store.create_session(session, first)
    second = make_refresh(session.session_id, issued_at=NOW + 60)

    outcome = await store.rotate_refresh_token(
        session_id=session.session_id,
        old_token_id=first.token_id,
        new=second,
        access_expires_at=NOW + 960,
        now=NOW + 60,
    )
    assert outcome.status is RotateStatus.ROTATED
    assert outcome.session is not None
    assert (outcome.session.expires_at, outcome.session.access_expires_at) == (
        second.expires_at,
        NOW + 960,
    )
    spent = await store.get_refresh_token(first.token_id)
    assert spent is not None and (spent.used_at, spent.replaced_by) == (NOW + 60, second.token_id)
    assert await store.get_refresh_token(second.token_id) == second


async def test_reusing_a_spent_token_revokes_the_session_atomically(store: Store) -> None:
    user = await store.create_user(make_user())
    session, first = make_session(user.user_id)
    await store.create_session(session, first)
    second = make_refresh(session.session_id)
    await store.rotate_refresh_token(
        session_id=session.session_id,
        old_token_id=first.token_id,
        new=second,
        access_expires_at=NOW + 900,
        now=NOW,
    )
    replay = await store.rotate_refresh_token(
        session_id=session.session_id,
        old_token_id=first.token_id,
        new=make_refresh(session.session_id),
        access_expires_at=NOW + 900,
        now=NOW + 5,
    )
    assert replay.status is RotateStatus.REUSED
    assert replay.session is not None
    assert replay.session.revoke_reason is RevocationReason.REFRESH_TOKEN_REUSE
    stored = await store.get_session(session.session_id)
    assert stored is not None and stored.revoked_at == NOW + 5

    # The current token is dead too, since its session is.
    after = await store.rotate_refresh_token(
        session_id=session.session_id,
        old_token_id=second.token_id,
        new=make_refresh(session.session_id),
        access_expires_at=NOW + 900,
        now=NOW + 6,
    )
    assert after.status is RotateStatus.SESSION_REVOKED


async def test_rotation_of_unknown_expired_or_foreign_tokens(store: Store) -> None:
    user = await store.create_user(make_user())
    session, first = make_session(user.user_id)
    other, other_first = make_session(user.user_id)
    await store.create_session(session, first)
    await store.create_session(other, other_first)

    async def rotate(session_id: str, token_id: str, now: float = NOW) -> RotateStatus:
        outcome = await store.rotate_refresh_token(
            session_id=session_id,
            old_token_id=token_id,
            new=make_refresh(session_id),
            access_expires_at=now + 900,
            now=now,
        )
        return outcome.status

    assert await rotate(session.session_id, "no-such-token") is RotateStatus.UNKNOWN
    # A token presented with another session's id is as good as unknown.
    assert await rotate(session.session_id, other_first.token_id) is RotateStatus.UNKNOWN
    assert await rotate(session.session_id, first.token_id, NOW + 8 * DAY) is RotateStatus.EXPIRED
    assert await rotate(session.session_id, first.token_id) is RotateStatus.ROTATED


async def test_concurrent_rotations_of_one_token_let_exactly_one_win(store: Store) -> None:
    user = await store.create_user(make_user())
    session, first = make_session(user.user_id)
    await store.create_session(session, first)
    outcomes = await asyncio.gather(
        *(
            store.rotate_refresh_token(
                session_id=session.session_id,
                old_token_id=first.token_id,
                new=make_refresh(session.session_id),
                access_expires_at=NOW + 900,
                now=NOW,
            )
            for _ in range(4)
        )
    )
    statuses = sorted(str(o.status) for o in outcomes)
    assert statuses.count(str(RotateStatus.ROTATED)) == 1
    assert str(RotateStatus.REUSED) in statuses
    stored = await store.get_session(session.session_id)
    assert stored is not None and stored.is_revoked


async def test_login_failures_count_reset_and_lock(store: Store) -> None:
    key = "ada@example.com"
    assert await store.get_login_failures(key) is None
    for expected in (1, 2, 3):
        state = await store.record_login_failure(key, now=NOW + expected, reset_after_seconds=60)
        assert state.failures == expected
    await store.lock_login(key, until=NOW + 300)
    locked = await store.get_login_failures(key)
    assert locked is not None and (locked.failures, locked.locked_until) == (3, NOW + 300)

    # A quiet spell counts from the end of the lockout, not the last failure.
    state = await store.record_login_failure(key, now=NOW + 200, reset_after_seconds=60)
    assert state.failures == 4 and state.locked_until == NOW + 300
    state = await store.record_login_failure(key, now=NOW + 1000, reset_after_seconds=60)
    assert (state.failures, state.locked_until) == (1, None)

    await store.clear_login_failures(key)
    assert await store.get_login_failures(key) is None


async def test_concurrent_login_failures_all_count(store: Store) -> None:
    await asyncio.gather(
        *(store.record_login_failure("k", now=NOW, reset_after_seconds=60) for _ in range(10))
    )
    state = await store.get_login_failures("k")
    assert state is not None and state.failures == 10


async def test_key_ring_is_saved_with_optimistic_versions(store: Store) -> None:
    assert await store.load_key_ring() is None
    ring = KeyRing.generate(retention_seconds=3600, now=lambda: NOW)
    assert await store.save_key_ring(ring.to_dict(), expected_version=None, now=NOW) == 1
    with pytest.raises(KeyRingConflict):
        await store.save_key_ring(ring.to_dict(), expected_version=None, now=NOW)

    ring.rotate()
    assert await store.save_key_ring(ring.to_dict(), expected_version=1, now=NOW) == 2
    with pytest.raises(KeyRingConflict):
        await store.save_key_ring(ring.to_dict(), expected_version=1, now=NOW)

    stored = await store.load_key_ring()
    assert stored is not None and stored.version == 2
    loaded = KeyRing.from_dict(stored.data, retention_seconds=3600, now=lambda: NOW)
    assert [k.kid for k in loaded.keys()] == [k.kid for k in ring.keys()]


async def test_prune_drops_long_expired_sessions_with_their_tokens(store: Store) -> None:
    user = await store.create_user(make_user())
    old, old_refresh = make_session(user.user_id, created_at=NOW - 30 * DAY)
    live, live_refresh = make_session(user.user_id)
    await store.create_session(old, old_refresh)
    await store.create_session(live, live_refresh)
    await store.record_login_failure("stale", now=NOW - 30 * DAY, reset_after_seconds=60)
    await store.record_login_failure("fresh", now=NOW, reset_after_seconds=60)

    assert await store.prune(now=NOW, keep_seconds=DAY) == 2
    assert await store.get_session(old.session_id) is None
    assert await store.get_refresh_token(old_refresh.token_id) is None
    assert await store.get_session(live.session_id) == live
    assert await store.get_login_failures("stale") is None
    assert await store.get_login_failures("fresh") is not None
