"""What the identity domain hands back to its callers, independent of gRPC."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.identity.store import Role, SessionRecord, UserRecord, UserStatus


@dataclass(frozen=True, slots=True)
class TokenPair:
    """The tokens of one session, as returned by register, login and refresh."""

    session_id: str
    access_token: str = field(repr=False)
    access_expires_at: int
    # Seconds the access token lives, as OAuth 2.0 clients expect in `expires_in`.
    expires_in: int
    refresh_token: str = field(repr=False)
    refresh_expires_at: int
    token_type: str = "Bearer"


@dataclass(frozen=True, slots=True)
class Introspection:
    """What Validate says about an access token; `reason` is set only when it is invalid."""

    valid: bool
    reason: str = ""
    user_id: str = ""
    roles: tuple[str, ...] = ()
    session_id: str = ""
    expires_at: int | None = None


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in user behind a call, as the store knows them now."""

    user: UserRecord
    session: SessionRecord

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.user.roles


@dataclass(frozen=True, slots=True)
class UserUpdate:
    """A field-mask update: only the fields named in `paths` are applied."""

    paths: frozenset[str]
    email: str = ""
    display_name: str = ""
    roles: frozenset[Role] = frozenset()
    status: UserStatus | None = None
