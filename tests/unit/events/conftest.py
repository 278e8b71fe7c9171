"""A migrated SQLite database with the outbox tables, in the test's tmp dir."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from mesh.events import OUTBOX_STATEMENTS
from mesh.store import Database, Migration, migrate, open_database

MIGRATIONS = (Migration(1, "outbox and processed events", OUTBOX_STATEMENTS),)


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = open_database(None, tmp_path / "events.sqlite3")
    try:
        await migrate(database, MIGRATIONS)
        yield database
    finally:
        await database.close()
