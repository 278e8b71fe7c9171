"""The notification service's settings: the `[notification]` section /
`TRADEMESH_NOTIFICATION_*`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mesh.config import ConfigError
from mesh.store import default_sqlite_path, load_service_config

SECTION = "notification"
_SCHEMES = frozenset({"postgresql", "postgres", "sqlite"})


def _key(name: str) -> str:
    return f"TRADEMESH_{SECTION}_{name}".upper()


@dataclass(frozen=True, slots=True)
class NotificationConfig:
    # postgresql://user:pass@host/db selects PostgreSQL; unset means SQLite at sqlite_path.
    database_url: str | None = field(default=None, repr=False)
    sqlite_path: Path = field(default_factory=lambda: default_sqlite_path(SECTION))
    database_max_connections: int = 10

    # ListNotifications page size when the request says 0.
    default_page_size: int = 50
    # New notifications one StreamNotifications call may have waiting to be sent; a watcher
    # that falls further behind is ended with RESOURCE_EXHAUSTED, to list and reconnect.
    stream_buffer_size: int = 256
    # Concurrent StreamNotifications calls per user on one instance.
    max_streams_per_user: int = 16
    # How long a new notification may wait to be stored before streams get it anyway.
    stream_store_wait_seconds: float = 5.0

    # Notifications older than this are deleted by the periodic maintenance.
    retention_days: float = 90.0
    maintenance_interval_seconds: float = 3600.0
    # How long start-up waits for Kafka to confirm the source topics exist.
    topics_timeout_seconds: float = 15.0

    def __post_init__(self) -> None:
        for name in (
            "database_max_connections",
            "default_page_size",
            "stream_buffer_size",
            "max_streams_per_user",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(_key(name), f"must be at least 1, got {getattr(self, name)}")
        for name in (
            "retention_days",
            "maintenance_interval_seconds",
            "topics_timeout_seconds",
            "stream_store_wait_seconds",
        ):
            if not getattr(self, name) > 0:
                raise ConfigError(_key(name), f"must be positive, got {getattr(self, name)}")
        if self.database_url:
            scheme = urlsplit(self.database_url).scheme.lower()
            if scheme not in _SCHEMES:
                # Only the scheme is quoted: the rest of a URL may carry a password.
                raise ConfigError(
                    _key("database_url"),
                    f"unsupported scheme {scheme!r}; use postgresql://... or leave it unset "
                    "for SQLite",
                )
        if self.default_page_size > 1000:
            raise ConfigError(_key("default_page_size"), "must be at most 1000")

    @classmethod
    def load(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        toml: Mapping[str, Any] | None = None,
    ) -> NotificationConfig:
        """Read `[notification]` / `TRADEMESH_NOTIFICATION_*`; a plain `DATABASE_URL` is the
        fallback when neither names a database URL."""
        return load_service_config(cls, SECTION, environ=environ, toml=toml)
