"""open_database picks the driver from the URL and never echoes one it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.store import Migration, UnsupportedDatabase, migrate, open_database
from mesh.store.postgres import PostgresDatabase
from mesh.store.sqlite import SqliteDatabase


def test_the_driver_follows_the_url(tmp_path: Path) -> None:
    sqlite_path = tmp_path / "svc.sqlite3"
    assert isinstance(open_database(None, sqlite_path), SqliteDatabase)
    assert isinstance(open_database("", sqlite_path), SqliteDatabase)
    # Nothing connects until first use, so no server is needed here.
    assert isinstance(open_database("postgresql://u@localhost/db", sqlite_path), PostgresDatabase)
    assert isinstance(open_database("postgres://u@localhost/db", sqlite_path), PostgresDatabase)
    explicit = open_database(f"sqlite:///{tmp_path}/other.sqlite3", sqlite_path)
    assert isinstance(explicit, SqliteDatabase)
    assert explicit.path == tmp_path / "other.sqlite3"


def test_other_databases_are_refused_without_echoing_the_url(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedDatabase) as info:
        open_database("mysql://u:hunter2@h/db", tmp_path / "x")
    assert "hunter2" not in str(info.value)
    assert "'mysql'" in str(info.value)


async def test_migrations_must_be_numbered_in_order(tmp_path: Path) -> None:
    db = open_database(None, tmp_path / "svc.sqlite3")
    try:
        with pytest.raises(ValueError, match=r"numbered 1\.\.n"):
            await migrate(db, (Migration(2, "two", ()),))
    finally:
        await db.close()
