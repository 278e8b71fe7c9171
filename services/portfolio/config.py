"""The portfolio service's settings: the `[portfolio]` section / `TRADEMESH_PORTFOLIO_*`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesh.config import ConfigError
from mesh.store import default_sqlite_path, load_service_config

SECTION = "portfolio"


def _key(name: str) -> str:
    return f"TRADEMESH_{SECTION}_{name}".upper()


@dataclass(frozen=True, slots=True)
class PortfolioConfig:
    # postgresql://user:pass@host/db selects PostgreSQL; unset means SQLite at sqlite_path.
    database_url: str | None = field(default=None, repr=False)
    sqlite_path: Path = field(default_factory=lambda: default_sqlite_path(SECTION))
    database_max_connections: int = 10

    # The Kafka consumer group settling trading.trades.v1, also the name under which applied
    # event ids are recorded.
    consumer_group: str = "portfolio"
    # How long one quote lookup at marketdata may take before valuing without it.
    quote_timeout_seconds: float = 2.0
    # WatchPortfolio re-values a portfolio for moved quotes at most this often.
    revalue_interval_seconds: float = 1.0
    # How long start-up waits for Kafka to create the topics before going on without them.
    topics_timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.database_max_connections < 1:
            raise ConfigError(_key("database_max_connections"), "must be at least 1")
        if not self.consumer_group.strip():
            raise ConfigError(_key("consumer_group"), "must not be empty")
        for name in ("quote_timeout_seconds", "revalue_interval_seconds", "topics_timeout_seconds"):
            if not getattr(self, name) > 0:
                raise ConfigError(_key(name), f"must be positive, got {getattr(self, name)}")

    @classmethod
    def load(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        toml: Mapping[str, Any] | None = None,
    ) -> PortfolioConfig:
        """Read `[portfolio]` / `TRADEMESH_PORTFOLIO_*`; a plain `DATABASE_URL` is the
        fallback when neither names a database URL."""
        return load_service_config(cls, SECTION, environ=environ, toml=toml)
