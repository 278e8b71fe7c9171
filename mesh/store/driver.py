"""The driver interface every service's SQL is written against: transactions of statements.

SQL is written once, with `?` placeholders and types both SQLite and PostgreSQL accept; each
driver adapts placeholders and maps its constraint errors to `IntegrityViolation`.

A transaction is all or nothing under cancellation too: `transaction()` either begins one and
later commits or rolls it back, or never begins one, whenever the caller is cancelled.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from enum import StrEnum
from typing import Any, ClassVar

from mesh.store.errors import StoreError

Row = tuple[Any, ...]
Params = Sequence[object]


class ViolationKind(StrEnum):
    UNIQUE = "unique"
    FOREIGN_KEY = "foreign_key"
    OTHER = "other"


class IntegrityViolation(StoreError):
    """A statement broke a constraint; the transaction it ran in is rolled back."""

    def __init__(self, kind: ViolationKind) -> None:
        super().__init__(f"{kind} constraint violated")
        self.kind = kind


class Transaction(ABC):
    """Statements inside one open transaction."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; returns the number of rows it changed."""

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...


class Database(ABC):
    """A connection (pool) that hands out transactions."""

    dialect: ClassVar[str]
    # Column types that differ between the dialects, filled into migration statements.
    types: ClassVar[Mapping[str, str]]

    # Appended to a SELECT whose rows the transaction goes on to change. SQLite needs
    # nothing: a write transaction there holds the database's single write lock from BEGIN.
    for_update: str = ""

    @abstractmethod
    def transaction(self, *, write: bool = False) -> AbstractAsyncContextManager[Transaction]:
        """Commit when the block ends normally, roll back when it raises."""

    @abstractmethod
    async def lock_schema(self, tx: Transaction) -> None:
        """Serialise concurrent migrations (several instances starting at once)."""

    @abstractmethod
    async def close(self) -> None:
        """Close every connection; safe to call twice."""
