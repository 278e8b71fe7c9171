"""The portfolio store: its schema and SQL over the shared `mesh.store` drivers."""

from __future__ import annotations

from mesh.store.driver import Database
from mesh.store.migrations import migrate
from services.portfolio.store import queries
from services.portfolio.store.migrations import MIGRATIONS
from services.portfolio.store.records import (
    PortfolioRecord,
    PositionRecord,
    ReservationRecord,
    ReservationStatus,
    Side,
    Snapshot,
    TradeRecord,
    ValuePoint,
)


async def migrate_store(db: Database) -> tuple[int, ...]:
    """Apply the portfolio migrations the database does not have yet."""
    return await migrate(db, MIGRATIONS)


async def snapshot(db: Database, portfolio_id: str) -> Snapshot | None:
    """The portfolio and all its positions, read in one transaction; None if unknown."""
    async with db.transaction() as tx:
        record = await queries.portfolio(tx, portfolio_id)
        if record is None:
            return None
        return Snapshot(record, tuple(await queries.positions(tx, portfolio_id)))


__all__ = [
    "MIGRATIONS",
    "PortfolioRecord",
    "PositionRecord",
    "ReservationRecord",
    "ReservationStatus",
    "Side",
    "Snapshot",
    "TradeRecord",
    "ValuePoint",
    "migrate_store",
    "queries",
    "snapshot",
]
