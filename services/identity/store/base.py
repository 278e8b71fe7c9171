"""The identity store's contract, shared by the SQLite and PostgreSQL implementations."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from mesh.store import Database
from services.identity.store.records import (
    LoginFailures,
    RefreshTokenRecord,
    RevocationReason,
    Role,
    RotateOutcome,
    SessionRecord,
    StoredKeyRing,
    UserChanges,
    UserDeletion,
    UserPage,
    UserRecord,
    UserStatus,
)


class Store(ABC):
    """Users, sessions, refresh tokens, sign-in throttling and the signing key ring.

    Every method is a coroutine and runs in one transaction. Deleted users are kept (soft
    delete) so their id stays resolvable, but they free their email and are left out of
    lookups by email, listings and counts.
    """

    # -- lifecycle --

    @abstractmethod
    async def migrate(self) -> tuple[int, ...]:
        """Apply the schema migrations not yet recorded; returns the versions applied now."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; safe to call twice."""

    @property
    @abstractmethod
    def database(self) -> Database:
        """The database underneath, whose outbox the service's relay publishes."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- users --

    @abstractmethod
    async def create_user(self, user: UserRecord) -> UserRecord:
        """Insert a user; raises DuplicateEmail when a live user has the email."""

    @abstractmethod
    async def get_user(
        self, user_id: str, *, include_deleted: bool = False
    ) -> UserRecord | None: ...

    @abstractmethod
    async def get_user_by_email(self, email: str) -> UserRecord | None:
        """The live user with exactly this (already normalised) email."""

    @abstractmethod
    async def update_user(
        self, user_id: str, changes: UserChanges, *, now: float
    ) -> UserRecord | None:
        """Apply `changes` to a live user; None when there is none. Raises DuplicateEmail."""

    @abstractmethod
    async def delete_user(
        self, user_id: str, *, now: float, reason: RevocationReason = RevocationReason.USER_DELETED
    ) -> UserDeletion:
        """Soft-delete a user and revoke their live sessions in the same transaction."""

    @abstractmethod
    async def list_users(
        self, *, page_size: int, page_token: str = "", role: Role | None = None
    ) -> UserPage:
        """Live users oldest first; raises InvalidPageToken for a token of another query."""

    @abstractmethod
    async def count_users(
        self, *, role: Role | None = None, status: UserStatus | None = None
    ) -> int: ...

    @abstractmethod
    async def set_password_hash(self, user_id: str, password_hash: str, *, now: float) -> bool:
        """Replace a live user's password hash; False when there is no such user."""

    # -- sessions and refresh tokens --

    @abstractmethod
    async def create_session(self, session: SessionRecord, refresh: RefreshTokenRecord) -> None:
        """Insert a session together with its first refresh token."""

    @abstractmethod
    async def get_session(self, session_id: str) -> SessionRecord | None: ...

    @abstractmethod
    async def revoke_session(
        self, session_id: str, *, now: float, reason: RevocationReason
    ) -> SessionRecord | None:
        """Revoke a live session; returns it only when this call revoked it."""

    @abstractmethod
    async def revoke_user_sessions(
        self, user_id: str, *, now: float, reason: RevocationReason
    ) -> tuple[SessionRecord, ...]:
        """Revoke every live session of a user; returns the sessions this call revoked."""

    @abstractmethod
    async def get_refresh_token(self, token_id: str) -> RefreshTokenRecord | None: ...

    @abstractmethod
    async def rotate_refresh_token(
        self,
        *,
        session_id: str,
        old_token_id: str,
        new: RefreshTokenRecord,
        access_expires_at: float,
        now: float,
    ) -> RotateOutcome:
        """Spend `old_token_id` and insert `new` in one transaction.

        If the old token was already spent, this is a replay: the session is revoked in the
        same transaction (reason REFRESH_TOKEN_REUSE) and the outcome is REUSED.
        """

    # -- failed sign-ins --

    @abstractmethod
    async def get_login_failures(self, key: str) -> LoginFailures | None: ...

    @abstractmethod
    async def record_login_failure(
        self, key: str, *, now: float, reset_after_seconds: float
    ) -> LoginFailures:
        """Count one failure; the count restarts when the last failure is older than
        `reset_after_seconds`. Returns the updated counter."""

    @abstractmethod
    async def lock_login(self, key: str, *, until: float) -> None: ...

    @abstractmethod
    async def clear_login_failures(self, key: str) -> None: ...

    # -- signing keys --

    @abstractmethod
    async def load_key_ring(self) -> StoredKeyRing | None: ...

    @abstractmethod
    async def save_key_ring(
        self, data: Mapping[str, Any], *, expected_version: int | None, now: float
    ) -> int:
        """Store the ring if its stored version is still `expected_version` (None: no ring
        stored yet); returns the new version. Raises KeyRingConflict otherwise."""

    # -- housekeeping --

    @abstractmethod
    async def prune(self, *, now: float, keep_seconds: float) -> int:
        """Delete sessions expired more than `keep_seconds` ago (with their refresh tokens)
        and stale sign-in counters; returns the number of rows deleted."""
