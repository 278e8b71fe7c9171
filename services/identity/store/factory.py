"""Open identity's store on the database the configuration names."""

from __future__ import annotations

from pathlib import Path

from mesh.store import open_database
from services.identity.store._sql import SqlStore
from services.identity.store.base import Store


def open_store(database_url: str | None, sqlite_path: Path, *, max_connections: int = 10) -> Store:
    """PostgreSQL when `database_url` names one, else SQLite at `sqlite_path`; nothing connects
    until the first call (usually `migrate()`)."""
    return SqlStore(
        open_database(database_url, sqlite_path, name="identity", max_connections=max_connections)
    )
