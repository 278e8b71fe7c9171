"""The PostgreSQL store, over psycopg 3's async connection pool.

Rows a transaction goes on to change are read with SELECT ... FOR UPDATE, so two instances
rotating the same refresh token queue on its row and the second sees it spent.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool

from services.identity.store._database import (
    Database,
    IntegrityViolation,
    Params,
    Row,
    Transaction,
    ViolationKind,
)
from services.identity.store._sql import SqlStore

# Any constant identifies our migrations among other users of the same database.
_SCHEMA_LOCK_ID = 0x7472_6164_6D65_7368 & 0x7FFF_FFFF_FFFF_FFFF  # "trademesh"


@functools.lru_cache(maxsize=256)
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
    for_update = " FOR UPDATE"

    def __init__(
        self,
        url: str,
        *,
        min_connections: int = 1,
        max_connections: int = 10,
        connect_timeout_seconds: float = 10.0,
    ) -> None:
        self._url = url
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
                name="identity-store",
            )
            try:
                await pool.open(wait=True, timeout=self._timeout)
            except BaseException:
                await pool.close()
                raise
            self._pool = pool
            return pool

    @asynccontextmanager
    async def transaction(self, *, write: bool = False) -> AsyncIterator[Transaction]:
        pool = await self._open_pool()
        async with pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            yield _PostgresTransaction(cursor)

    async def lock_schema(self, tx: Transaction) -> None:
        await tx.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK_ID,))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._opening:
            if self._pool is not None:
                await self._pool.close()
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


class PostgresStore(SqlStore):
    """The store in a PostgreSQL database named by a `postgresql://` URL."""

    def __init__(self, url: str, *, min_connections: int = 1, max_connections: int = 10) -> None:
        super().__init__(
            PostgresDatabase(url, min_connections=min_connections, max_connections=max_connections)
        )
