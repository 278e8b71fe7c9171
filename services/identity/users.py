"""Reading and managing users: who may see, change and delete whom."""

from __future__ import annotations

import logging
from collections.abc import Callable

from mesh import paging
from mesh.context import Principal
from mesh.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from services.identity import validation
from services.identity.auth import AuthService
from services.identity.models import Caller, UserUpdate
from services.identity.sessions import Sessions
from services.identity.store import (
    DuplicateEmail,
    InvalidPageToken,
    RevocationReason,
    Role,
    Store,
    UserChanges,
    UserPage,
    UserRecord,
    UserStatus,
)

logger = logging.getLogger(__name__)

UPDATABLE_FIELDS = frozenset({"email", "display_name", "roles", "status"})
# Fields a user may change on themselves; the rest need an admin.
SELF_SERVICE_FIELDS = frozenset({"email", "display_name"})
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
ADMIN_ROLES = frozenset({Role.VIEWER, Role.TRADER, Role.ADMIN})


def _not_found() -> NotFound:
    return NotFound("user not found", reason="USER_NOT_FOUND")


def _invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(f"{field}: {description}", [FieldViolation(field, description)])


class UserService:
    def __init__(
        self,
        store: Store,
        sessions: Sessions,
        auth: AuthService,
        *,
        now: Callable[[], float],
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._auth = auth
        self._now = now

    async def _caller_for(self, principal: Principal | None, user_id: str) -> tuple[Caller, str]:
        """The caller and the canonical target id, once the caller may act on that user."""
        caller = await self._sessions.authenticate(principal)
        target_id = validation.check_user_id(user_id)
        if target_id != caller.user.user_id and not caller.is_admin:
            raise PermissionDenied("only admins may act on other users", reason="NOT_OWNER")
        return caller, target_id

    async def get_me(self, principal: Principal | None) -> UserRecord:
        return (await self._sessions.authenticate(principal)).user

    async def get_user(self, principal: Principal | None, user_id: str) -> UserRecord:
        _, target_id = await self._caller_for(principal, user_id)
        user = await self._store.get_user(target_id)
        if user is None:
            raise _not_found()
        return user

    async def update_user(
        self, principal: Principal | None, user_id: str, update: UserUpdate
    ) -> UserRecord:
        caller, target_id = await self._caller_for(principal, user_id)
        if not update.paths:
            raise _invalid("update_mask", "must name at least one field")
        unknown = update.paths - UPDATABLE_FIELDS
        if unknown:
            allowed = ", ".join(sorted(UPDATABLE_FIELDS))
            raise _invalid("update_mask", f"cannot update {sorted(unknown)}; allowed: {allowed}")
        if not caller.is_admin and not update.paths <= SELF_SERVICE_FIELDS:
            raise PermissionDenied("only admins may change roles or status", reason="ADMIN_ONLY")
        changes = self._changes(update)
        target = await self._store.get_user(target_id)
        if target is None:
            raise _not_found()
        if self._drops_admin(target, changes):
            await self._keep_an_admin()
        try:
            updated = await self._store.update_user(target_id, changes, now=self._now())
        except DuplicateEmail:
            raise AlreadyExists(
                "a user with this email already exists", reason="EMAIL_TAKEN"
            ) from None
        if updated is None:
            raise _not_found()
        if target.status is UserStatus.ACTIVE and updated.status is UserStatus.DISABLED:
            await self._sessions.revoke_all(target_id, RevocationReason.USER_DISABLED)
        return updated

    @staticmethod
    def _changes(update: UserUpdate) -> UserChanges:
        paths = update.paths
        email = display_name = None
        roles: frozenset[Role] | None = None
        if "email" in paths:
            email = validation.normalize_email(update.email, field="user.email")
        if "display_name" in paths:
            display_name = validation.clean_display_name(
                update.display_name, field="user.display_name"
            )
        if "roles" in paths:
            if not update.roles:
                raise _invalid("user.roles", "must name at least one role")
            roles = update.roles
        if "status" in paths and update.status is None:
            raise _invalid("user.status", "must be ACTIVE or DISABLED")
        status = update.status if "status" in paths else None
        return UserChanges(email=email, display_name=display_name, roles=roles, status=status)

    @staticmethod
    def _drops_admin(target: UserRecord, changes: UserChanges) -> bool:
        if Role.ADMIN not in target.roles or target.status is not UserStatus.ACTIVE:
            return False
        loses_role = changes.roles is not None and Role.ADMIN not in changes.roles
        return loses_role or changes.status is UserStatus.DISABLED

    async def _keep_an_admin(self) -> None:
        admins = await self._store.count_users(role=Role.ADMIN, status=UserStatus.ACTIVE)
        if admins <= 1:
            raise FailedPrecondition(
                "this is the last active admin; make another admin first", reason="LAST_ADMIN"
            )

    async def delete_user(self, principal: Principal | None, user_id: str) -> None:
        """Soft-delete a user and revoke their sessions; deleting a deleted user succeeds."""
        _, target_id = await self._caller_for(principal, user_id)
        target = await self._store.get_user(target_id, include_deleted=True)
        if target is None:
            raise _not_found()
        if target.deleted_at is not None:
            return
        if self._drops_admin(target, UserChanges(status=UserStatus.DISABLED)):
            await self._keep_an_admin()
        deletion = await self._store.delete_user(target_id, now=self._now())
        await self._sessions.announce(deletion.revoked_sessions)

    async def list_users(
        self,
        principal: Principal | None,
        *,
        page_size: int = 0,
        page_token: str = "",
        role: Role | None = None,
    ) -> UserPage:
        caller = await self._sessions.authenticate(principal)
        if not caller.is_admin:
            raise PermissionDenied("only admins may list users", reason="ADMIN_ONLY")
        size = paging.page_size(page_size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
        try:
            return await self._store.list_users(page_size=size, page_token=page_token, role=role)
        except InvalidPageToken as exc:
            raise paging.invalid_argument(exc) from None

    async def ensure_admin(self, *, email: str, password: str, display_name: str) -> UserRecord:
        """Create the configured first admin unless a user with that email exists. Idempotent.

        An existing user is left as it is: their password may have been changed since, and a
        user who registered the email on their own is not promoted.
        """
        normalized = validation.normalize_email(email, field="admin_email")
        existing = await self._store.get_user_by_email(normalized)
        if existing is None:
            try:
                created = await self._auth.create_user(
                    email=normalized,
                    password=password,
                    display_name=display_name,
                    roles=ADMIN_ROLES,
                )
            except AlreadyExists:
                # Another instance bootstrapped it a moment ago.
                existing = await self._store.get_user_by_email(normalized)
            else:
                logger.info("created the bootstrap admin %s", created.user_id)
                return created
        if existing is None:
            raise RuntimeError("the bootstrap admin vanished while being created")
        if Role.ADMIN not in existing.roles:
            logger.warning(
                "the configured admin email belongs to user %s, who is not an admin; "
                "leaving them as they are",
                existing.user_id,
            )
        return existing
