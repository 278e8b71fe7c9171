"""SQLite: one connection owned by one worker thread, so the event loop never blocks.

The database runs in WAL mode with foreign keys on. Transactions are serialised in-process by
a lock (SQLite has a single writer anyway); a write transaction starts with BEGIN IMMEDIATE so
it takes the write lock up front instead of failing to upgrade a read lock later, and other
processes sharing the file wait up to `busy_timeout_seconds` for it.

Cancellation: every statement is a job on the one worker thread, which runs jobs in the order
they were submitted. A cancelled caller does not stop a job that was submitted (BEGIN may still
run after the caller gave up), so on any way out of a transaction a ROLLBACK is *submitted*
before the in-process lock is released: it runs after everything the transaction queued and
before anything the next transaction queues, so no transaction is ever left open.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import ClassVar, TypeVar

from mesh.store._finish import finish
from mesh.store.driver import (
    Database,
    IntegrityViolation,
    Params,
    Row,
    Transaction,
    ViolationKind,
)

T = TypeVar("T")

_VIOLATIONS = {
    "SQLITE_CONSTRAINT_UNIQUE": ViolationKind.UNIQUE,
    "SQLITE_CONSTRAINT_PRIMARYKEY": ViolationKind.UNIQUE,
    "SQLITE_CONSTRAINT_FOREIGNKEY": ViolationKind.FOREIGN_KEY,
}


class SqliteDatabase(Database):
    dialect = "sqlite"
    types: ClassVar[Mapping[str, str]] = {
        "serial_pk": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "blob": "BLOB",
    }

    def __init__(self, path: Path, *, busy_timeout_seconds: float = 5.0) -> None:
        self._path = path
        self._busy_timeout_ms = int(busy_timeout_seconds * 1000)
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def path(self) -> Path:
        return self._path

    def _submit(self, fn: Callable[..., T], *args: object) -> asyncio.Future[T]:
        """Queue `fn` on the worker thread now (not at the next await) and return its future."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor, functools.partial(fn, *args))

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        return await self._submit(fn, *args)

    def _connect(self) -> sqlite3.Connection:
        if self._path != Path(":memory:"):
            self._path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves.
        conn = sqlite3.connect(self._path, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            self._enable_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        # Set on the worker thread, so a caller cancelled while connecting leaks nothing.
        self._conn = conn
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switching to WAL takes an exclusive lock and, unlike other statements, does not wait
        on the busy timeout; a second process opening the file at the same moment retries."""
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    async def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError("the SQLite store is closed")
        if self._conn is None:
            return await self._call(self._connect)
        return self._conn

    @asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[Transaction]:
        async with self._lock:
            conn = await self._connection()
            try:
                await self._call(conn.execute, "BEGIN IMMEDIATE" if write else "BEGIN")
                yield _SqliteTransaction(self, conn)
            except BaseException:
                await finish(self._submit(_rollback, conn))
                raise
            commit = self._submit(_commit, conn)
            try:
                await commit
            except BaseException:
                # Cancelled while COMMIT ran, or COMMIT failed: either way nothing stays open.
                await finish(self._submit(_rollback, conn))
                raise

    async def lock_schema(self, tx: Transaction) -> None:
        # BEGIN IMMEDIATE already excludes every other writer, in this process and others.
        return None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._lock:
            if self._conn is not None:
                await finish(self._submit(self._conn.close))
                self._conn = None
            if self._executor is not None:
                self._executor.shutdown(wait=False)
                self._executor = None


def _commit(conn: sqlite3.Connection) -> None:
    conn.execute("COMMIT")


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _run(conn: sqlite3.Connection, sql: str, params: Params) -> tuple[int, list[Row]]:
    try:
        cursor = conn.execute(sql, tuple(params))
        rows = cursor.fetchall()
        return cursor.rowcount, rows
    except sqlite3.IntegrityError as exc:
        kind = _VIOLATIONS.get(getattr(exc, "sqlite_errorname", ""), ViolationKind.OTHER)
        raise IntegrityViolation(kind) from exc


class _SqliteTransaction(Transaction):
    def __init__(self, db: SqliteDatabase, conn: sqlite3.Connection) -> None:
        self._db = db
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        count, _ = await self._db._call(_run, self._conn, sql, params)
        return count

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        _, rows = await self._db._call(_run, self._conn, sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        _, rows = await self._db._call(_run, self._conn, sql, params)
        return rows
