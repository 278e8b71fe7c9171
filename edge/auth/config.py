"""Settings of the edge's token checks: the `[edge_auth]` section / `TRADEMESH_EDGE_AUTH_*`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mesh.config import ConfigError, env_key, load_section

SECTION = "edge_auth"


@dataclass(frozen=True, slots=True)
class EdgeAuthConfig:
    """`cache_max_entries` bounds the verified-token cache (least recently used go first);
    an entry lives until its token expires, but never longer than `cache_max_age_seconds`,
    so a signing key withdrawn from identity's JWKS stops being honoured within that time."""

    cache_max_entries: int = 10_000
    cache_max_age_seconds: float = 300.0

    def __post_init__(self) -> None:
        entries = self.cache_max_entries
        if isinstance(entries, bool) or not isinstance(entries, int) or entries < 1:
            raise ConfigError(env_key(SECTION, "cache_max_entries"), "must be an integer >= 1")
        age = self.cache_max_age_seconds
        if isinstance(age, bool) or not isinstance(age, int | float) or not age > 0:
            raise ConfigError(env_key(SECTION, "cache_max_age_seconds"), "must be > 0")

    @classmethod
    def load(
        cls, *, environ: Mapping[str, str] | None = None, toml: Mapping[str, Any] | None = None
    ) -> EdgeAuthConfig:
        return load_section(cls, SECTION, environ=environ, toml=toml)
