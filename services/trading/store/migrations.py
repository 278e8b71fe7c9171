"""The trading store's schema, as numbered migrations (`mesh.store.migrate` applies them).

Prices, quantities and amounts are exact decimal strings; times are Unix seconds. A released
migration is never edited: changes go into a new one.
"""

from __future__ import annotations

from mesh.events import OUTBOX_STATEMENTS
from mesh.store import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "orders",
        (
            """
            CREATE TABLE orders (
                order_id TEXT PRIMARY KEY,
                client_order_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                portfolio_id TEXT NOT NULL,
                symbol TEXT NOT NULL,
                side TEXT NOT NULL,
                order_type TEXT NOT NULL,
                time_in_force TEXT NOT NULL,
                quantity TEXT NOT NULL,
                limit_price TEXT,
                status TEXT NOT NULL,
                filled_quantity TEXT NOT NULL,
                average_fill_price TEXT,
                reject_reason TEXT NOT NULL,
                reject_code TEXT NOT NULL,
                currency TEXT NOT NULL,
                reservation TEXT NOT NULL,
                reserved_amount TEXT NOT NULL,
                quote_price TEXT,
                expires_at DOUBLE PRECISION,
                correlation_id TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                version INTEGER NOT NULL
            )
            """,
            # PlaceOrder's idempotency: one order per (user, client_order_id), whoever races.
            "CREATE UNIQUE INDEX orders_client_id ON orders (user_id, client_order_id)",
            "CREATE INDEX orders_user_created ON orders (user_id, created_at, order_id)",
            "CREATE INDEX orders_created ON orders (created_at, order_id)",
            "CREATE INDEX orders_status ON orders (status, symbol)",
            "CREATE INDEX orders_reservation ON orders (reservation)",
        ),
    ),
    Migration(
        2,
        "trades",
        (
            """
            CREATE TABLE trades (
                trade_id TEXT PRIMARY KEY,
                order_id TEXT NOT NULL REFERENCES orders (order_id),
                user_id TEXT NOT NULL,
                portfolio_id TEXT NOT NULL,
                symbol TEXT NOT NULL,
                side TEXT NOT NULL,
                quantity TEXT NOT NULL,
                price TEXT NOT NULL,
                notional TEXT NOT NULL,
                fee TEXT NOT NULL,
                currency TEXT NOT NULL,
                executed_at DOUBLE PRECISION NOT NULL
            )
            """,
            # Orders execute in one fill: a second trade for an order is a double fill.
            "CREATE UNIQUE INDEX trades_order ON trades (order_id)",
            "CREATE INDEX trades_user_executed ON trades (user_id, executed_at, trade_id)",
            "CREATE INDEX trades_executed ON trades (executed_at, trade_id)",
        ),
    ),
    Migration(
        3,
        "risk limits",
        (
            """
            CREATE TABLE risk_limits (
                user_id TEXT PRIMARY KEY,
                max_order_quantity TEXT,
                max_order_notional TEXT,
                max_daily_notional TEXT,
                currency TEXT NOT NULL,
                max_open_orders INTEGER NOT NULL,
                trading_disabled BOOLEAN NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )
            """,
        ),
    ),
    Migration(4, "outbox and processed events", OUTBOX_STATEMENTS),
)
