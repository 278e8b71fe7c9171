"""Choose the driver from configuration: PostgreSQL when a URL names one, else SQLite."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from mesh.store.driver import Database
from mesh.store.errors import UnsupportedDatabase

_POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})


def open_database(
    database_url: str | None,
    sqlite_path: Path,
    *,
    name: str | None = None,
    max_connections: int = 10,
) -> Database:
    """A database for `database_url` (postgresql://...), or SQLite at `sqlite_path` when unset.

    Nothing connects until the first transaction (usually the migrations). A URL of any other
    scheme is refused rather than silently ignored; `sqlite:///path` is accepted for symmetry.
    `name` is the service's: on PostgreSQL its tables live in a schema of that name. The
    drivers are imported here, so a process only loads the one it uses.
    """
    if not database_url:
        from mesh.store.sqlite import SqliteDatabase

        return SqliteDatabase(sqlite_path)
    scheme = urlsplit(database_url).scheme.lower()
    if scheme in _POSTGRES_SCHEMES:
        from mesh.store.postgres import PostgresDatabase

        return PostgresDatabase(
            database_url, name=name or "store", schema=name, max_connections=max_connections
        )
    if scheme == "sqlite":
        from mesh.store.sqlite import SqliteDatabase

        path = urlsplit(database_url).path
        if database_url.startswith("sqlite:///"):
            path = database_url.removeprefix("sqlite:///")
        if not path:
            raise UnsupportedDatabase("a sqlite:/// URL must name a file")
        return SqliteDatabase(Path(path))
    # Only the scheme is quoted: the rest of a URL may carry a password.
    raise UnsupportedDatabase(
        f"unsupported database URL scheme {scheme!r}; use postgresql://... or leave it unset "
        "for SQLite"
    )
