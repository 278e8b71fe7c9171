"""Where a service's database is: its own URL, the shared DATABASE_URL, or a SQLite file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from mesh.config import env_key, load_section
from mesh.infra.paths import state_dir

T = TypeVar("T")


def default_sqlite_path(service: str) -> Path:
    """`<state dir>/<service>/<service>.sqlite3`, the embedded default."""
    return state_dir() / service / f"{service}.sqlite3"


def load_service_config(
    cls: type[T],
    section: str,
    *,
    environ: Mapping[str, str] | None = None,
    toml: Mapping[str, Any] | None = None,
) -> T:
    """`load_section` for a service whose config has a `database_url` field: a plain
    `DATABASE_URL` is the fallback when neither `TRADEMESH_<SECTION>_DATABASE_URL` nor the
    TOML table names one (an empty value there means SQLite, on purpose)."""
    environ = os.environ if environ is None else environ
    table = (toml or {}).get(section, {})
    named = env_key(section, "database_url") in environ or (
        isinstance(table, Mapping) and "database_url" in table
    )
    overrides: dict[str, Any] = {}
    if not named and environ.get("DATABASE_URL"):
        overrides["database_url"] = environ["DATABASE_URL"]
    return load_section(cls, section, environ=environ, toml=toml, overrides=overrides)
