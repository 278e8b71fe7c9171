"""The identity store under test, once per backend: SQLite in a temp file and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from services.identity.store import Store, open_store
from tests.integration.services import _backends

database_url = _backends.database_url


@pytest_asyncio.fixture
async def store(database_url: str | None, tmp_path: Path) -> AsyncIterator[Store]:
    store = open_store(database_url, tmp_path / "identity.sqlite3")
    try:
        await store.migrate()
        yield store
    finally:
        await store.close()
