"""The trading store under test, once per backend: SQLite in a temp file and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from mesh.store import open_database
from services.trading.store import TradingStore

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None selects SQLite; otherwise the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest_asyncio.fixture
async def store(database_url: str | None, tmp_path: Path) -> AsyncIterator[TradingStore]:
    store = TradingStore(open_database(database_url, tmp_path / "trading.sqlite3"))
    try:
        await store.migrate()
        yield store
    finally:
        await store.close()
