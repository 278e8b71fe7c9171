"""SQLite specifics of the identity store (the shared contract runs in the integration suite,
against SQLite and PostgreSQL alike)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from services.identity.store import (
    MIGRATIONS,
    Role,
    UnsupportedDatabase,
    UserRecord,
    UserStatus,
    open_store,
)
from services.identity.store.postgres import PostgresStore
from services.identity.store.sqlite import SqliteStore


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = open_store(None, tmp_path / "nested" / "identity.sqlite3")
    assert isinstance(store, SqliteStore)
    async with store:
        await store.migrate()
        yield store


def user(email: str = "ada@example.com") -> UserRecord:
    return UserRecord(
        user_id=str(uuid.uuid4()),
        email=email,
        display_name="Ada",
        roles=frozenset({Role.VIEWER}),
        status=UserStatus.ACTIVE,
        password_hash="h",
        created_at=1.0,
        updated_at=1.0,
    )


async def _pragma(store: SqliteStore, name: str) -> object:
    async with store._db.transaction() as tx:
        row = await tx.fetchone(f"PRAGMA {name}")
    assert row is not None
    return row[0]


async def test_wal_mode_and_foreign_keys_are_on(store: SqliteStore) -> None:
    assert await _pragma(store, "journal_mode") == "wal"
    assert await _pragma(store, "foreign_keys") == 1


async def test_migrations_are_recorded_once(store: SqliteStore, tmp_path: Path) -> None:
    async with store._db.transaction() as tx:
        rows = await tx.fetchall("SELECT version, name FROM schema_migrations ORDER BY version")
    assert rows == [(m.version, m.name) for m in MIGRATIONS]
    assert await store.migrate() == ()


async def test_statements_run_off_the_event_loop_thread(store: SqliteStore) -> None:
    threads: list[int] = []
    db = store._db
    conn = await db._connection()
    await db._call(conn.set_trace_callback, lambda _sql: threads.append(threading.get_ident()))
    await store.create_user(user())
    assert await store.get_user_by_email("ada@example.com") is not None
    assert threads and threading.get_ident() not in threads


async def test_a_failed_transaction_leaves_nothing_behind(store: SqliteStore) -> None:
    with pytest.raises(RuntimeError):
        async with store._db.transaction(write=True) as tx:
            await tx.execute(
                "INSERT INTO login_failures (login_key, failures, last_failure_at) "
                "VALUES ('k', 1, 0)"
            )
            raise RuntimeError("boom")
    assert await store.get_login_failures("k") is None


async def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    store = open_store(None, tmp_path / "identity.sqlite3")
    await store.migrate()
    await store.close()
    await store.close()
    with pytest.raises(RuntimeError):
        await store.count_users()


def test_factory_picks_the_backend_from_the_url(tmp_path: Path) -> None:
    sqlite_path = tmp_path / "identity.sqlite3"
    assert isinstance(open_store(None, sqlite_path), SqliteStore)
    assert isinstance(open_store("", sqlite_path), SqliteStore)
    # Nothing connects until first use, so no server is needed here.
    assert isinstance(open_store("postgresql://u@localhost/db", sqlite_path), PostgresStore)
    assert isinstance(open_store("postgres://u@localhost/db", sqlite_path), PostgresStore)
    explicit = open_store(f"sqlite:///{tmp_path}/other.sqlite3", sqlite_path)
    assert isinstance(explicit, SqliteStore)
    assert explicit._db.path == tmp_path / "other.sqlite3"


def test_factory_refuses_other_databases_without_echoing_the_url(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedDatabase) as info:
        open_store("mysql://u:hunter2@h/db", tmp_path / "x")
    assert "hunter2" not in str(info.value)
