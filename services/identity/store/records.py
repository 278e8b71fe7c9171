"""The rows the identity store reads and writes, as frozen dataclasses.

Times are Unix seconds (floats) throughout, like the token claims they sit next to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """A role as stored and as written in access tokens and access options."""

    VIEWER = "viewer"
    TRADER = "trader"
    ADMIN = "admin"


class UserStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class RevocationReason(StrEnum):
    """Why a session ended before its tokens expired."""

    LOGOUT = "logout"
    REFRESH_TOKEN_REUSE = "refresh_token_reuse"
    USER_DELETED = "user_deleted"
    USER_DISABLED = "user_disabled"


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: str
    email: str
    display_name: str
    roles: frozenset[Role]
    status: UserStatus
    password_hash: str = field(repr=False)
    created_at: float
    updated_at: float
    deleted_at: float | None = None

    @property
    def is_live(self) -> bool:
        """Not deleted and allowed to sign in."""
        return self.deleted_at is None and self.status is UserStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class UserChanges:
    """Fields to change on a user; None leaves a field as it is."""

    email: str | None = None
    display_name: str | None = None
    roles: frozenset[Role] | None = None
    status: UserStatus | None = None
    password_hash: str | None = field(default=None, repr=False)

    def is_empty(self) -> bool:
        return all(
            value is None
            for value in (
                self.email,
                self.display_name,
                self.roles,
                self.status,
                self.password_hash,
            )
        )


@dataclass(frozen=True, slots=True)
class UserPage:
    users: tuple[UserRecord, ...]
    next_page_token: str  # empty on the last page


@dataclass(frozen=True, slots=True)
class SessionRecord:
    session_id: str
    user_id: str
    created_at: float
    # When the session's newest refresh token expires; refreshing moves it forward.
    expires_at: float
    # When the newest access token issued for the session expires: verifiers must remember
    # a revocation until then.
    access_expires_at: float
    revoked_at: float | None = None
    revoke_reason: RevocationReason | None = None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord:
    """One refresh token, by its `jti`; `used_at` is set once it has been rotated."""

    token_id: str
    session_id: str
    issued_at: float
    expires_at: float
    used_at: float | None = None
    replaced_by: str | None = None


class RotateStatus(StrEnum):
    ROTATED = "rotated"
    # The token was already rotated: the store revoked its session in the same transaction.
    REUSED = "reused"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    SESSION_REVOKED = "session_revoked"


@dataclass(frozen=True, slots=True)
class RotateOutcome:
    status: RotateStatus
    # The session after the rotation (ROTATED) or after its revocation (REUSED); the
    # session as found for SESSION_REVOKED and EXPIRED; None for UNKNOWN.
    session: SessionRecord | None = None


@dataclass(frozen=True, slots=True)
class UserDeletion:
    found: bool
    already_deleted: bool = False
    # Sessions this deletion revoked (none when the user was already deleted).
    revoked_sessions: tuple[SessionRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class LoginFailures:
    """Recent failed sign-ins for one login key (a normalised email)."""

    key: str
    failures: int
    last_failure_at: float
    locked_until: float | None = None


@dataclass(frozen=True, slots=True)
class StoredKeyRing:
    """The serialised signing key ring (`KeyRing.to_dict`) and its optimistic version."""

    data: dict[str, Any] = field(repr=False)
    version: int
