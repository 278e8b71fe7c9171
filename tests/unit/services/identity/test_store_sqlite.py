"""SQLite specifics of the identity store (the shared contract runs in the integration suite,
against SQLite and PostgreSQL alike)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from mesh.store.sqlite import SqliteDatabase
from services.identity.store import (
    MIGRATIONS,
    Role,
    UserRecord,
    UserStatus,
    open_store,
)
from services.identity.store._sql import SqlStore


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    store = open_store(None, tmp_path / "nested" / "identity.sqlite3")
    assert isinstance(store._db, SqliteDatabase)
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


async def _pragma(store: SqlStore, name: str) -> object:
    async with store._db.transaction() as tx:
        row = await tx.fetchone(f"PRAGMA {name}")
    assert row is not None
    return row[0]


async def test_wal_mode_and_foreign_keys_are_on(store: SqlStore) -> None:
    assert await _pragma(store, "journal_mode") == "wal"
    assert await _pragma(store, "foreign_keys") == 1


async def test_migrations_are_recorded_once(store: SqlStore, tmp_path: Path) -> None:
    async with store._db.transaction() as tx:
        rows = await tx.fetchall("SELECT version, name FROM schema_migrations ORDER BY version")
    assert rows == [(m.version, m.name) for m in MIGRATIONS]
    assert await store.migrate() == ()


async def test_statements_run_off_the_event_loop_thread(store: SqlStore) -> None:
    threads: list[int] = []
    db = store._db
    conn = await db._connection()
    await db._call(conn.set_trace_callback, lambda _sql: threads.append(threading.get_ident()))
    await store.create_user(user())
    assert await store.get_user_by_email("ada@example.com") is not None
    assert threads and threading.get_ident() not in threads


async def test_a_failed_transaction_leaves_nothing_behind(store: SqlStore) -> None:
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
