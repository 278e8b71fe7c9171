"""The trading service's store: orders, trades and risk limits on SQLite or PostgreSQL."""

from __future__ import annotations

from services.trading.store.migrations import MIGRATIONS
from services.trading.store.store import (
    Activity,
    Change,
    Decide,
    DuplicateOrder,
    OrderFilter,
    TradeFilter,
    TradingStore,
    Transition,
)

__all__ = [
    "MIGRATIONS",
    "Activity",
    "Change",
    "Decide",
    "DuplicateOrder",
    "OrderFilter",
    "TradeFilter",
    "TradingStore",
    "Transition",
]
