"""Who may read, change, delete and list users; field masks; the bootstrap admin."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from trademesh.identity.v1 import events_pb2

from mesh.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from mesh.tokens import TokenConfig
from services.identity import Identity, SignedIn, UserUpdate, build_identity
from services.identity.store import Role, UserStatus
from tests.unit.services.identity.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    PASSWORD,
    EventLog,
    FakeClock,
    fast_config,
    principal,
    register,
)


def update(**fields: object) -> UserUpdate:
    return UserUpdate(paths=frozenset(fields), **fields)  # type: ignore[arg-type]


async def test_get_me_and_get_self(identity: Identity) -> None:
    ada = await register(identity, "ada@example.com")
    assert (await identity.users.get_me(principal(ada))).user_id == ada.user.user_id
    got = await identity.users.get_user(principal(ada), ada.user.user_id.upper())
    assert got.email == "ada@example.com"


async def test_revoked_session_cannot_act(identity: Identity) -> None:
    ada = await register(identity, "ada@example.com")
    await identity.auth.logout(principal(ada))
    with pytest.raises(Unauthenticated):
        await identity.users.get_me(principal(ada))
    with pytest.raises(Unauthenticated):
        await identity.users.get_me(None)


async def test_users_cannot_read_others_but_admins_can(identity: Identity, admin: SignedIn) -> None:
    ada = await register(identity, "ada@example.com")
    bob = await register(identity, "bob@example.com")
    with pytest.raises(PermissionDenied):
        await identity.users.get_user(principal(ada), bob.user.user_id)
    assert (await identity.users.get_user(principal(admin), bob.user.user_id)).email == (
        "bob@example.com"
    )
    with pytest.raises(NotFound):
        await identity.users.get_user(principal(admin), str(uuid.uuid4()))
    with pytest.raises(InvalidArgument):
        await identity.users.get_user(principal(admin), "not-a-uuid")


async def test_user_updates_own_profile_through_the_mask(identity: Identity) -> None:
    ada = await register(identity, "ada@example.com", name="Ada")
    changed = await identity.users.update_user(
        principal(ada),
        ada.user.user_id,
        UserUpdate(paths=frozenset({"display_name"}), display_name="Countess", email="x@y.z"),
    )
    # Only the masked field changed; the email in the message was ignored.
    assert (changed.display_name, changed.email) == ("Countess", "ada@example.com")
    changed = await identity.users.update_user(
        principal(ada), ada.user.user_id, update(email="Lovelace@Example.com")
    )
    assert changed.email == "lovelace@example.com"
    assert (await identity.auth.login(email="lovelace@example.com", password=PASSWORD)).user


@pytest.mark.parametrize(
    "change",
    [
        {"roles": frozenset({Role.ADMIN})},
        {"roles": frozenset({Role.VIEWER, Role.TRADER})},
        {"status": UserStatus.DISABLED},
    ],
)
async def test_users_cannot_change_their_own_roles_or_status(
    identity: Identity, change: dict[str, object]
) -> None:
    ada = await register(identity, "ada@example.com")
    with pytest.raises(PermissionDenied):
        await identity.users.update_user(principal(ada), ada.user.user_id, update(**change))
    assert (await identity.users.get_me(principal(ada))).roles == {Role.VIEWER}


async def test_users_cannot_update_others(identity: Identity) -> None:
    ada = await register(identity, "ada@example.com")
    bob = await register(identity, "bob@example.com")
    with pytest.raises(PermissionDenied):
        await identity.users.update_user(
            principal(ada), bob.user.user_id, update(display_name="Mallory")
        )


async def test_admin_grants_roles_which_the_next_refresh_carries(
    identity: Identity, admin: SignedIn
) -> None:
    ada = await register(identity, "ada@example.com")
    changed = await identity.users.update_user(
        principal(admin), ada.user.user_id, update(roles=frozenset({Role.VIEWER, Role.TRADER}))
    )
    assert changed.roles == {Role.VIEWER, Role.TRADER}
    refreshed = await identity.auth.refresh(ada.tokens.refresh_token)
    result = await identity.auth.validate(refreshed.access_token)
    assert result.roles == ("trader", "viewer")


async def test_admin_disabling_a_user_revokes_their_sessions(
    identity: Identity, admin: SignedIn, event_log: EventLog
) -> None:
    ada = await register(identity, "ada@example.com")
    await identity.users.update_user(
        principal(admin), ada.user.user_id, update(status=UserStatus.DISABLED)
    )
    assert not (await identity.auth.validate(ada.tokens.access_token)).valid
    (event,) = event_log.events
    assert event.reason == events_pb2.REVOCATION_REASON_USER_DISABLED
    assert event.user_id == ada.user.user_id


@pytest.mark.parametrize(
    ("paths", "field"),
    [
        (frozenset(), "update_mask"),
        (frozenset({"password"}), "update_mask"),
        (frozenset({"email"}), "user.email"),
        (frozenset({"roles"}), "user.roles"),
        (frozenset({"status"}), "user.status"),
    ],
)
async def test_bad_masks_and_values_are_invalid(
    identity: Identity, admin: SignedIn, paths: frozenset[str], field: str
) -> None:
    ada = await register(identity, "ada@example.com")
    with pytest.raises(InvalidArgument) as info:
        await identity.users.update_user(
            principal(admin), ada.user.user_id, UserUpdate(paths=paths, email="bad")
        )
    assert [v.field for v in info.value.violations] == [field]


async def test_changing_to_a_taken_email_is_already_exists(identity: Identity) -> None:
    ada = await register(identity, "ada@example.com")
    await register(identity, "bob@example.com")
    with pytest.raises(AlreadyExists):
        await identity.users.update_user(
            principal(ada), ada.user.user_id, update(email="bob@example.com")
        )


async def test_the_last_admin_cannot_be_removed(identity: Identity, admin: SignedIn) -> None:
    me = admin.user.user_id
    with pytest.raises(FailedPrecondition):
        await identity.users.update_user(
            principal(admin), me, update(roles=frozenset({Role.VIEWER}))
        )
    with pytest.raises(FailedPrecondition):
        await identity.users.update_user(principal(admin), me, update(status=UserStatus.DISABLED))
    with pytest.raises(FailedPrecondition):
        await identity.users.delete_user(principal(admin), me)

    # With a second admin, the first may step down.
    ada = await register(identity, "ada@example.com")
    await identity.users.update_user(
        principal(admin), ada.user.user_id, update(roles=frozenset({Role.ADMIN}))
    )
    demoted = await identity.users.update_user(
        principal(admin), me, update(roles=frozenset({Role.VIEWER}))
    )
    assert demoted.roles == {Role.VIEWER}
    # Authorisation follows the stored roles, not the ones in the access token.
    with pytest.raises(PermissionDenied):
        await identity.users.list_users(principal(admin))


async def test_delete_self_revokes_sessions_and_frees_the_email(
    identity: Identity, event_log: EventLog
) -> None:
    ada = await register(identity, "ada@example.com")
    await identity.users.delete_user(principal(ada), ada.user.user_id)
    assert not (await identity.auth.validate(ada.tokens.access_token)).valid
    assert [e.reason for e in event_log.events] == [events_pb2.REVOCATION_REASON_USER_DELETED]
    with pytest.raises(Unauthenticated):
        await identity.auth.login(email="ada@example.com", password=PASSWORD)
    again = await register(identity, "ada@example.com")
    assert again.user.user_id != ada.user.user_id


async def test_delete_rules_and_idempotence(identity: Identity, admin: SignedIn) -> None:
    ada = await register(identity, "ada@example.com")
    bob = await register(identity, "bob@example.com")
    with pytest.raises(PermissionDenied):
        await identity.users.delete_user(principal(ada), bob.user.user_id)
    await identity.users.delete_user(principal(admin), bob.user.user_id)
    await identity.users.delete_user(principal(admin), bob.user.user_id)
    with pytest.raises(NotFound):
        await identity.users.get_user(principal(admin), bob.user.user_id)
    with pytest.raises(NotFound):
        await identity.users.delete_user(principal(admin), str(uuid.uuid4()))


async def test_list_users_pages_for_admins_only(
    identity: Identity, admin: SignedIn, clock: FakeClock
) -> None:
    registered = []
    for i in range(6):
        clock.advance(1)
        registered.append(await register(identity, f"user{i}@example.com"))
    with pytest.raises(PermissionDenied):
        await identity.users.list_users(principal(registered[0]))

    seen: list[str] = []
    token = ""
    while True:
        page = await identity.users.list_users(principal(admin), page_size=3, page_token=token)
        assert len(page.users) <= 3
        seen.extend(u.email for u in page.users)
        token = page.next_page_token
        if not token:
            break
    assert seen == [ADMIN_EMAIL] + [f"user{i}@example.com" for i in range(6)]

    admins = await identity.users.list_users(principal(admin), role=Role.ADMIN)
    assert [u.email for u in admins.users] == [ADMIN_EMAIL]
    first = await identity.users.list_users(principal(admin), page_size=1, role=Role.VIEWER)
    with pytest.raises(InvalidArgument) as info:
        await identity.users.list_users(principal(admin), page_token=first.next_page_token)
    assert info.value.violations[0].field == "page_token"
    with pytest.raises(InvalidArgument):
        await identity.users.list_users(principal(admin), page_size=-1)


async def test_admin_bootstrap_is_idempotent(
    tmp_path: Path, clock: FakeClock, event_log: EventLog
) -> None:
    config = fast_config(tmp_path)
    async with await build_identity(config, TokenConfig(), now=clock) as first:
        admin = await first.auth.login(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        assert admin.user.roles == set(Role)
    # A restart with a different configured password neither duplicates nor resets the admin.
    changed = fast_config(tmp_path, admin_password="another password")
    async with await build_identity(changed, TokenConfig(), now=clock) as second:
        assert await second.store.count_users(role=Role.ADMIN) == 1
        again = await second.auth.login(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        assert again.user.user_id == admin.user.user_id


async def test_bootstrap_does_not_promote_someone_who_took_the_email(
    tmp_path: Path, clock: FakeClock
) -> None:
    plain = fast_config(tmp_path, admin_email=None, admin_password=None)
    async with await build_identity(plain, TokenConfig(), now=clock) as first:
        squatter = await first.auth.register(
            email=ADMIN_EMAIL, password=PASSWORD, display_name="Squatter"
        )
    async with await build_identity(fast_config(tmp_path), TokenConfig(), now=clock) as second:
        user = await second.store.get_user(squatter.user.user_id)
        assert user is not None and user.roles == {Role.VIEWER}
