"""PostgreSQL over psycopg 3's async connection pool.

Rows a transaction goes on to change are read with SELECT ... FOR UPDATE, so two instances
changing the same row queue on it and the second sees the first's result.

A service's tables live in a schema of its own (its name), so services pointed at one
database by a shared DATABASE_URL keep their migrations, outboxes and tables apart.

Cancellation: a connection is taken from the pool and always given back, shielded, whatever
is cancelled when; the pool rolls back a connection that comes back inside a transaction and
discards one that comes back mid-statement, so no transaction outlives its caller and no
connection leaks out of the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool

from mesh.store._finish import finish
from mesh.store.driver import (
    Database,
    IntegrityViolation,
    Params,
    Row,
    Transaction,
    ViolationKind,
)

# A connection mid-statement (ACTIVE) is left to the pool, which discards it.
_ROLLBACK_STATES = (TransactionStatus.INTRANS, TransactionStatus.INERROR)

# Any constant identifies our migrations among other users of the same database.
_SCHEMA_LOCK_ID = 0x7472_6164_6D65_7368 & 0x7FFF_FFFF_FFFF_FFFF  # "trademesh"


@functools.lru_cache(maxsize=512)
def _adapt(sql: str) -> str:
    # Our statements never contain a literal `?` or `%`, so this is a plain substitution.
    return sql.replace("?", "%s")


def _violation(exc: psycopg.IntegrityError) -> IntegrityViolation:
    if isinstance(exc, pg_errors.UniqueViolation):
        return IntegrityViolation(ViolationKind.UNIQUE)
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        return IntegrityViolation(ViolationKind.FOREIGN_KEY)
    return IntegrityViolation(ViolationKind.OTHER)


class PostgresDatabase(Database):
    dialect = "postgresql"
    types: ClassVar[Mapping[str, str]] = {
        "serial_pk": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "blob": "BYTEA",
    }
    for_update = " FOR UPDATE"

    def __init__(
        self,
        url: str,
        *,
        name: str = "store",
        schema: str | None = None,
        min_connections: int = 1,
        max_connections: int = 10,
        connect_timeout_seconds: float = 10.0,
    ) -> None:
        self._url = url
        self._name = name
        self._schema = schema
        self._min = min_connections
        self._max = max_connections
        self._timeout = connect_timeout_seconds
        self._pool: AsyncConnectionPool | None = None
        self._opening = asyncio.Lock()
        self._closed = False

    async def _open_pool(self) -> AsyncConnectionPool:
        if self._pool is not None:
            return self._pool
        async with self._opening:
            if self._closed:
                raise RuntimeError("the PostgreSQL store is closed")
            if self._pool is not None:
                return self._pool
            pool = AsyncConnectionPool(
                self._url,
                min_size=self._min,
                max_size=self._max,
                timeout=self._timeout,
                open=False,
                name=f"{self._name}-store",
                configure=None if self._schema is None else self._use_schema,
            )
            try:
                await pool.open(wait=True, timeout=self._timeout)
            except BaseException:
                await finish(pool.close())
                raise
            self._pool = pool
            return pool

    async def _use_schema(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Every pooled connection works in the service's schema, created on first use."""
        assert self._schema is not None
        schema = sql.Identifier(self._schema)
        try:
            await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            await conn.commit()
        except pg_errors.UniqueViolation:
            await conn.rollback()  # another connection created it at the same moment
        # Session-wide, outside any transaction, so no rollback undoes it.
        await conn.set_autocommit(True)
        await conn.execute(sql.SQL("SET search_path TO {}").format(schema))
        await conn.set_autocommit(False)

    @asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[Transaction]:
        pool = await self._open_pool()
        conn = await pool.getconn()
        try:
            # Not autocommit: the first statement opens the transaction.
            async with conn.cursor() as cursor:
                yield _PostgresTransaction(cursor)
            await conn.commit()
        except BaseException:
            if conn.pgconn.transaction_status in _ROLLBACK_STATES:
                with contextlib.suppress(psycopg.Error):
                    await finish(conn.rollback())
            raise
        finally:
            await finish(pool.putconn(conn))

    async def lock_schema(self, tx: Transaction) -> None:
        await tx.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK_ID,))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._opening:
            if self._pool is not None:
                await finish(self._pool.close())
                self._pool = None


class _PostgresTransaction(Transaction):
    def __init__(self, cursor: psycopg.AsyncCursor[Row]) -> None:
        self._cursor = cursor

    async def _run(self, sql: str, params: Params) -> None:
        try:
            await self._cursor.execute(_adapt(sql), tuple(params))
        except psycopg.IntegrityError as exc:
            raise _violation(exc) from exc

    async def execute(self, sql: str, params: Params = ()) -> int:
        await self._run(sql, params)
        return self._cursor.rowcount

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        await self._run(sql, params)
        return await self._cursor.fetchone()

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        await self._run(sql, params)
        return await self._cursor.fetchall()
