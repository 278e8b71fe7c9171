"""Both drivers behind one fixture, so every contract test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from mesh.store import Database, open_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest_asyncio.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    database = open_database(database_url, tmp_path / "unused.sqlite3", max_connections=4)
    try:
        yield database
    finally:
        await database.close()
