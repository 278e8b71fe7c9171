"""Choose the store from configuration: PostgreSQL when a URL names one, else SQLite."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from services.identity.store.base import Store
from services.identity.store.errors import UnsupportedDatabase

_POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})


def open_store(database_url: str | None, sqlite_path: Path, *, max_connections: int = 10) -> Store:
    """A store for `database_url` (postgresql://...), or SQLite at `sqlite_path` when unset.

    Nothing connects until the first call (usually `migrate()`). A URL of any other scheme
    is refused rather than silently ignored; `sqlite:///path` is accepted for symmetry.
    """
    if not database_url:
        from services.identity.store.sqlite import SqliteStore

        return SqliteStore(sqlite_path)
    scheme = urlsplit(database_url).scheme.lower()
    if scheme in _POSTGRES_SCHEMES:
        from services.identity.store.postgres import PostgresStore

        return PostgresStore(database_url, max_connections=max_connections)
    if scheme == "sqlite":
        from services.identity.store.sqlite import SqliteStore

        path = urlsplit(database_url).path
        if database_url.startswith("sqlite:///"):
            path = database_url.removeprefix("sqlite:///")
        if not path:
            raise UnsupportedDatabase("a sqlite:/// URL must name a file")
        return SqliteStore(Path(path))
    # Only the scheme is quoted: the rest of a URL may carry a password.
    raise UnsupportedDatabase(
        f"unsupported database URL scheme {scheme!r}; use postgresql://... or leave it unset "
        "for SQLite"
    )
