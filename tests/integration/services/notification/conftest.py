"""The notification store once per backend: SQLite in a temp file and a fresh PostgreSQL
database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from mesh.store import open_database
from services.notification import NotificationStore
from tests.integration.services import _backends
from tests.unit.services.notification.conftest import (  # noqa: F401 (fixtures shared)
    identity,
    signer,
)

database_url = _backends.database_url

OpenStore = Callable[[], NotificationStore]


@pytest.fixture
def open_store(database_url: str | None, tmp_path: Path) -> OpenStore:
    """Opens another store on the same database, as another instance would."""
    return lambda: NotificationStore(
        open_database(database_url, tmp_path / "notification.sqlite3", name="notification")
    )


@pytest_asyncio.fixture
async def store(open_store: OpenStore) -> AsyncIterator[NotificationStore]:
    opened = open_store()
    try:
        await opened.migrate()
        yield opened
    finally:
        await opened.close()
