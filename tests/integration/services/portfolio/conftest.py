"""The portfolio store under test, once per backend: SQLite in a temp file and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from mesh.store import Database, open_database
from services.portfolio.store import migrate_store
from tests.integration.services import _backends

database_url = _backends.database_url


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "portfolio.sqlite3"


@pytest_asyncio.fixture
async def db(database_url: str | None, sqlite_path: Path) -> AsyncIterator[Database]:
    database = open_database(database_url, sqlite_path, name="portfolio")
    try:
        await migrate_store(database)
        yield database
    finally:
        await database.close()
