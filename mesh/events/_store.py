"""What the event bus needs of a store: the shape `mesh.store`'s Database and Transaction have."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class SqlTransaction(Protocol):
    async def execute(self, sql: str, params: Sequence[object] = ()) -> int: ...

    async def fetchone(self, sql: str, params: Sequence[object] = ()) -> tuple[Any, ...] | None: ...

    async def fetchall(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...


class SqlDatabase(Protocol):
    dialect: str  # "sqlite" | "postgresql"

    def transaction(
        self, *, write: bool = False
    ) -> AbstractAsyncContextManager[SqlTransaction]: ...
