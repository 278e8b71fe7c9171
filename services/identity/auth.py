"""Signing up, in and out: register, login, refresh, logout and token introspection."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from mesh.context import Principal
from mesh.errors import AlreadyExists, InvalidArgument, PermissionDenied, Unauthenticated
from services.identity import validation
from services.identity.models import Introspection, TokenPair
from services.identity.passwords import PasswordHasher
from services.identity.sessions import Sessions
from services.identity.store import (
    DuplicateEmail,
    RevocationReason,
    Role,
    Store,
    UserRecord,
    UserStatus,
)
from services.identity.throttle import LoginThrottle


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: UserRecord
    tokens: TokenPair


def _bad_credentials() -> Unauthenticated:
    # The same words for an unknown email and a wrong password.
    return Unauthenticated("invalid email or password", reason="INVALID_CREDENTIALS")


class AuthService:
    def __init__(
        self,
        store: Store,
        passwords: PasswordHasher,
        sessions: Sessions,
        throttle: LoginThrottle,
        *,
        default_roles: frozenset[Role],
        now: Callable[[], float],
    ) -> None:
        if Role.ADMIN in default_roles:
            raise ValueError("admin cannot be a default role")
        self._store = store
        self._passwords = passwords
        self._sessions = sessions
        self._throttle = throttle
        self._default_roles = default_roles
        self._now = now

    async def register(self, *, email: str, password: str, display_name: str) -> SignedIn:
        """Create a user with the default roles and sign them in.

        Nobody chooses their own roles here: only an admin grants roles, via UpdateUser.
        """
        user = await self.create_user(
            email=email, password=password, display_name=display_name, roles=self._default_roles
        )
        return SignedIn(user=user, tokens=await self._sessions.open(user))

    async def create_user(
        self, *, email: str, password: str, display_name: str, roles: frozenset[Role]
    ) -> UserRecord:
        normalized = validation.normalize_email(email)
        validation.check_password(password)
        name = validation.clean_display_name(display_name)
        now = self._now()
        user = UserRecord(
            user_id=str(uuid.uuid4()),
            email=normalized,
            display_name=name,
            roles=roles,
            status=UserStatus.ACTIVE,
            password_hash=await self._passwords.hash(password),
            created_at=now,
            updated_at=now,
        )
        try:
            return await self._store.create_user(user)
        except DuplicateEmail:
            raise AlreadyExists(
                "a user with this email already exists", reason="EMAIL_TAKEN"
            ) from None

    async def login(self, *, email: str, password: str) -> SignedIn:
        try:
            key = validation.normalize_email(email)
        except InvalidArgument:
            raise _bad_credentials() from None
        await self._throttle.check(key)
        if len(password) > validation.PASSWORD_MAX_CHARS:
            # No account has such a password; do not spend a hash on it.
            await self._throttle.failed(key)
            raise _bad_credentials()
        user = await self._store.get_user_by_email(key)
        if user is None:
            await self._passwords.verify_decoy(password)
            await self._throttle.failed(key)
            raise _bad_credentials()
        if not await self._passwords.verify(user.password_hash, password):
            await self._throttle.failed(key)
            raise _bad_credentials()
        await self._throttle.succeeded(key)
        # Only someone who knows the password learns that the account is disabled.
        if user.status is not UserStatus.ACTIVE:
            raise PermissionDenied("this account is disabled", reason="ACCOUNT_DISABLED")
        if self._passwords.needs_rehash(user.password_hash):
            await self._store.set_password_hash(
                user.user_id, await self._passwords.hash(password), now=self._now()
            )
        return SignedIn(user=user, tokens=await self._sessions.open(user))

    async def refresh(self, refresh_token: str) -> TokenPair:
        return await self._sessions.refresh(refresh_token)

    async def logout(self, principal: Principal | None, *, all_sessions: bool = False) -> None:
        """Revoke the caller's session, or all of their sessions. Idempotent."""
        if principal is None:
            raise Unauthenticated("sign-in required", reason="SIGN_IN_REQUIRED")
        session = await self._store.get_session(principal.session_id)
        if session is None or session.user_id != principal.user_id:
            raise Unauthenticated("the session is no longer valid", reason="SESSION_REVOKED")
        if all_sessions:
            await self._sessions.revoke_all(principal.user_id, RevocationReason.LOGOUT)
        else:
            await self._sessions.revoke(principal.session_id, RevocationReason.LOGOUT)

    async def validate(self, token: str, principal: Principal | None = None) -> Introspection:
        """Introspect `token`, or the caller's own bearer token when `token` is empty."""
        if not token and principal is not None:
            token = principal.token
        return await self._sessions.introspect(token)
