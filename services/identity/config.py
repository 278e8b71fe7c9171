"""The identity service's settings: the `[identity]` section / `TRADEMESH_IDENTITY_*`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesh.config import ConfigError
from mesh.errors import InvalidArgument
from mesh.store import default_sqlite_path, load_service_config
from services.identity import validation
from services.identity.store import Role

SECTION = "identity"


def _key(name: str) -> str:
    return f"TRADEMESH_{SECTION}_{name}".upper()


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    # postgresql://user:pass@host/db selects PostgreSQL; unset means SQLite at sqlite_path.
    database_url: str | None = field(default=None, repr=False)
    sqlite_path: Path = field(default_factory=lambda: default_sqlite_path(SECTION))
    database_max_connections: int = 10

    # The first admin, created at start-up when no user has this email yet.
    admin_email: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    admin_display_name: str = "Administrator"

    # Roles a new registration gets; admin cannot be one of them.
    default_roles: tuple[str, ...] = ("viewer",)

    # Sign-in throttling per account: after max_failed_logins failures the account is locked
    # for lockout_seconds, doubling with each further failure up to max_lockout_seconds.
    # The count starts over after failed_login_reset_seconds without failures or lockout.
    max_failed_logins: int = 5
    failed_login_reset_seconds: float = 900.0
    lockout_seconds: float = 60.0
    max_lockout_seconds: float = 3600.0

    # argon2id cost (RFC 9106 "second recommended" profile) and how many hashes may run at
    # once, which bounds the memory sign-in floods can take.
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    password_parallelism: int = 4
    max_concurrent_hashes: int = 4

    # How long expired sessions are kept before `prune` deletes them.
    expired_session_retention_seconds: float = 86400.0

    # Maintenance, run in the service process every maintenance_interval_seconds: a new
    # signing key once the current one is key_rotation_interval_seconds old (retired keys stay
    # in the JWKS until their tokens have expired), then pruning of expired sessions.
    key_rotation_interval_seconds: float = 7 * 86400.0
    maintenance_interval_seconds: float = 60.0

    def __post_init__(self) -> None:
        for name in (
            "database_max_connections",
            "max_failed_logins",
            "password_time_cost",
            "password_parallelism",
            "max_concurrent_hashes",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(_key(name), f"must be at least 1, got {getattr(self, name)}")
        for name in (
            "failed_login_reset_seconds",
            "lockout_seconds",
            "max_lockout_seconds",
            "expired_session_retention_seconds",
            "key_rotation_interval_seconds",
            "maintenance_interval_seconds",
        ):
            if not getattr(self, name) > 0:
                raise ConfigError(_key(name), f"must be positive, got {getattr(self, name)}")
        if self.max_lockout_seconds < self.lockout_seconds:
            raise ConfigError(_key("max_lockout_seconds"), "must be at least lockout_seconds")
        # argon2 needs at least 8 KiB per lane.
        if self.password_memory_kib < 8 * self.password_parallelism:
            raise ConfigError(
                _key("password_memory_kib"), "must be at least 8 KiB per unit of parallelism"
            )
        known = {str(role) for role in Role}
        for role in self.default_roles:
            if role not in known:
                raise ConfigError(_key("default_roles"), f"unknown role {role!r}; known: {known}")
        if not self.default_roles:
            raise ConfigError(_key("default_roles"), "at least one role is needed")
        if Role.ADMIN in self.default_roles:
            raise ConfigError(_key("default_roles"), "admin cannot be a default role")
        if (self.admin_email is None) != (self.admin_password is None):
            raise ConfigError(
                _key("admin_password" if self.admin_password is None else "admin_email"),
                "admin_email and admin_password are set together or not at all",
            )
        checks = (
            ("admin_email", self.admin_email, validation.normalize_email),
            ("admin_password", self.admin_password, validation.check_password),
            ("admin_display_name", self.admin_display_name, validation.clean_display_name),
        )
        for name, value, check in checks:
            if value is None:
                continue
            try:
                check(value)
            except InvalidArgument as exc:
                # The violation text only: a password is never echoed.
                raise ConfigError(_key(name), exc.violations[0].description) from None

    @property
    def default_role_set(self) -> frozenset[Role]:
        return frozenset(Role(role) for role in self.default_roles)

    @classmethod
    def load(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        toml: Mapping[str, Any] | None = None,
    ) -> IdentityConfig:
        """Read `[identity]` / `TRADEMESH_IDENTITY_*`; a plain `DATABASE_URL` is the fallback
        when neither names a database URL."""
        return load_service_config(cls, SECTION, environ=environ, toml=toml)
