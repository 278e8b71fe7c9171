"""The driver contract on SQLite and PostgreSQL alike: all-or-nothing transactions, constraint
kinds, per-dialect column types, migrations applied once, and transactions that come out whole
when hundreds of callers are cancelled at arbitrary points."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from pathlib import Path

import pytest

from mesh.store import (
    Database,
    IntegrityViolation,
    Migration,
    SchemaTooNew,
    ViolationKind,
    migrate,
    open_database,
)
from mesh.store.postgres import PostgresDatabase
from mesh.store.sqlite import SqliteDatabase

MIGRATIONS = (
    Migration(
        1,
        "counters",
        ("CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",),
    ),
    Migration(2, "blobs", ("CREATE TABLE blobs (id {serial_pk}, data {blob} NOT NULL)",)),
)


async def _value(db: Database, name: str = "n") -> int:
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT value FROM counters WHERE name = ?", (name,))
    assert row is not None
    return int(row[0])


async def test_a_failed_transaction_leaves_nothing_behind(db: Database) -> None:
    await migrate(db, MIGRATIONS)
    with pytest.raises(RuntimeError, match="boom"):
        async with db.transaction(write=True) as tx:
            await tx.execute("INSERT INTO counters (name, value) VALUES ('a', 1)")
            raise RuntimeError("boom")
    async with db.transaction() as tx:
        assert await tx.fetchall("SELECT name FROM counters") == []


async def test_constraint_violations_are_classified(db: Database) -> None:
    await migrate(db, MIGRATIONS)
    async with db.transaction(write=True) as tx:
        await tx.execute("INSERT INTO counters (name, value) VALUES ('a', 1)")
    with pytest.raises(IntegrityViolation) as info:
        async with db.transaction(write=True) as tx:
            await tx.execute("INSERT INTO counters (name, value) VALUES ('a', 2)")
    assert info.value.kind is ViolationKind.UNIQUE
    assert await _value(db, "a") == 1


async def test_serial_keys_and_bytes_columns_work_on_each_dialect(db: Database) -> None:
    await migrate(db, MIGRATIONS)
    async with db.transaction(write=True) as tx:
        for payload in (b"\x00\xff", b"second"):
            await tx.execute("INSERT INTO blobs (data) VALUES (?)", (payload,))
    async with db.transaction() as tx:
        rows = await tx.fetchall("SELECT id, data FROM blobs ORDER BY id")
    assert [bytes(r[1]) for r in rows] == [b"\x00\xff", b"second"]
    assert rows[0][0] < rows[1][0]


async def test_instances_starting_together_apply_each_migration_once(
    database_url: str, tmp_path: Path
) -> None:
    first = open_database(database_url, tmp_path / "x")
    second = open_database(database_url, tmp_path / "x")
    try:
        results = await asyncio.gather(migrate(first, MIGRATIONS), migrate(second, MIGRATIONS))
        assert sorted(results[0] + results[1]) == [1, 2]
        async with first.transaction() as tx:
            rows = await tx.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in rows] == [1, 2]
        with pytest.raises(SchemaTooNew):
            await migrate(first, MIGRATIONS[:1])
    finally:
        await first.close()
        await second.close()


def _other_process_bump(database_url: str) -> None:
    """Write from a separate process, which would block (and time out) on a lock or an open
    transaction this process leaked."""
    if database_url.startswith("sqlite:///"):
        code = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=5, "
            "isolation_level=None); c.execute('BEGIN IMMEDIATE'); "
            "c.execute(\"UPDATE counters SET value = value + 1000 WHERE name = 'n'\"); "
            "c.execute('COMMIT')"
        )
        arg = database_url.removeprefix("sqlite:///")
    else:
        code = (
            "import psycopg, sys; c = psycopg.connect(sys.argv[1], connect_timeout=5); "
            "c.execute(\"SET lock_timeout = '5s'\"); "
            "c.execute(\"UPDATE counters SET value = value + 1000 WHERE name = 'n'\"); c.commit()"
        )
        arg = database_url
    done = subprocess.run(
        [sys.executable, "-c", code, arg], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


async def test_cancelled_callers_leave_no_transaction_open(db: Database, database_url: str) -> None:
    await migrate(db, MIGRATIONS)
    async with db.transaction(write=True) as tx:
        await tx.execute("INSERT INTO counters (name, value) VALUES ('n', 0)")

    async def bump() -> None:
        async with db.transaction(write=True) as tx:
            await tx.fetchone("SELECT value FROM counters WHERE name = 'n'" + db.for_update)
            await tx.execute("UPDATE counters SET value = value + 1 WHERE name = 'n'")

    rng = random.Random(7)
    loop = asyncio.get_running_loop()
    tasks = [asyncio.create_task(bump()) for _ in range(300)]
    for i, task in enumerate(tasks):
        # Some before they start, some while waiting for the lock or a connection, some
        # inside BEGIN, a statement or COMMIT.
        if i % 3 == 0:
            task.cancel()
        else:
            loop.call_later(rng.uniform(0, 0.2), task.cancel)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    unexpected = [r for r in results if isinstance(r, BaseException)]
    unexpected = [r for r in unexpected if not isinstance(r, asyncio.CancelledError)]
    assert unexpected == []
    succeeded = sum(1 for r in results if r is None)
    cancelled = len(results) - succeeded
    assert cancelled > 100

    # A caller cancelled during COMMIT cannot know whether it landed, so the count lies
    # between what reported success and what ran at all.
    value = await _value(db)
    assert succeeded <= value <= len(tasks)

    # Writes and reads still work here, and in another process.
    await bump()
    assert await _value(db) == value + 1
    await asyncio.to_thread(_other_process_bump, database_url)
    assert await _value(db) == value + 1001

    if isinstance(db, SqliteDatabase):
        conn = await db._connection()
        assert not conn.in_transaction
    else:
        assert isinstance(db, PostgresDatabase)
        pool = await db._open_pool()
        stats = pool.get_stats()
        assert stats.get("pool_available", 0) == stats.get("pool_size", 0)


async def test_tiny_deadlines_on_every_call_leave_the_database_usable(db: Database) -> None:
    await migrate(db, MIGRATIONS)
    async with db.transaction(write=True) as tx:
        await tx.execute("INSERT INTO counters (name, value) VALUES ('n', 0)")

    async def bump_with_deadline(seconds: float) -> bool:
        try:
            async with asyncio.timeout(seconds), db.transaction(write=True) as tx:
                await tx.execute("UPDATE counters SET value = value + 1 WHERE name = 'n'")
        except TimeoutError:
            return False
        return True

    deadlines = [0.0005 * (i % 20) for i in range(200)]
    outcomes = await asyncio.gather(*(bump_with_deadline(s) for s in deadlines))
    assert not all(outcomes)
    assert sum(outcomes) <= await _value(db) <= len(outcomes)
    assert await bump_with_deadline(30.0)


async def test_services_sharing_one_postgres_database_keep_their_own_schemas(
    postgres_url: str, tmp_path: Path
) -> None:
    alpha = open_database(postgres_url, tmp_path / "x", name="alpha")
    beta = open_database(postgres_url, tmp_path / "x", name="beta")
    try:
        # The same migration numbers, each applied once in its own schema.
        assert await migrate(alpha, MIGRATIONS) == (1, 2)
        assert await migrate(beta, MIGRATIONS) == (1, 2)
        async with alpha.transaction(write=True) as tx:
            await tx.execute("INSERT INTO counters (name, value) VALUES ('n', 1)")
        async with beta.transaction() as tx:
            assert await tx.fetchall("SELECT name FROM counters") == []
            row = await tx.fetchone("SELECT current_schema()")
        assert row == ("beta",)
        assert await _value(alpha) == 1
    finally:
        await alpha.close()
        await beta.close()
