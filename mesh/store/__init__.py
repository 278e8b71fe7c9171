"""The store layer every service stands on: drivers, transactions and numbered migrations.

SQLite (WAL) is the embedded default; PostgreSQL is used when a `postgresql://` URL is
configured. Service SQL is written once against `Database`/`Transaction` with `?` placeholders.
"""

from __future__ import annotations

from mesh.store.config import default_sqlite_path, load_service_config
from mesh.store.driver import (
    Database,
    IntegrityViolation,
    Params,
    Row,
    Transaction,
    ViolationKind,
)
from mesh.store.errors import SchemaTooNew, StoreError, UnsupportedDatabase
from mesh.store.factory import open_database
from mesh.store.migrations import Migration, migrate

__all__ = [
    "Database",
    "IntegrityViolation",
    "Migration",
    "Params",
    "Row",
    "SchemaTooNew",
    "StoreError",
    "Transaction",
    "UnsupportedDatabase",
    "ViolationKind",
    "default_sqlite_path",
    "load_service_config",
    "migrate",
    "open_database",
]
