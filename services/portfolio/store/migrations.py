"""The portfolio schema as numbered migrations. Amounts are canonical decimal strings (see
`services.portfolio.money`); times are Unix seconds."""

from __future__ import annotations

from mesh.events.outbox import OUTBOX_STATEMENTS
from mesh.store.migrations import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "portfolios, reservations, positions, trades, value points",
        (
            """
            CREATE TABLE portfolios (
                portfolio_id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT NOT NULL,
                base_currency TEXT NOT NULL,
                initial_cash TEXT NOT NULL,
                cash TEXT NOT NULL,
                reserved TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                deleted_at DOUBLE PRECISION
            )
            """,
            # A deleted portfolio frees its name for a new one.
            "CREATE UNIQUE INDEX portfolios_live_name ON portfolios (user_id, name) "
            "WHERE deleted_at IS NULL",
            "CREATE INDEX portfolios_user ON portfolios (user_id, created_at, portfolio_id)",
            """
            CREATE TABLE reservations (
                order_id TEXT PRIMARY KEY,
                portfolio_id TEXT NOT NULL REFERENCES portfolios (portfolio_id),
                amount TEXT NOT NULL,
                remaining TEXT NOT NULL,
                status TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX reservations_portfolio ON reservations (portfolio_id, status)",
            """
            CREATE TABLE positions (
                portfolio_id TEXT NOT NULL REFERENCES portfolios (portfolio_id),
                symbol TEXT NOT NULL,
                quantity TEXT NOT NULL,
                average_cost TEXT NOT NULL,
                realized_pnl TEXT NOT NULL,
                last_price TEXT NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (portfolio_id, symbol)
            )
            """,
            """
            CREATE TABLE trades (
                trade_id TEXT PRIMARY KEY,
                portfolio_id TEXT NOT NULL REFERENCES portfolios (portfolio_id),
                order_id TEXT NOT NULL,
                symbol TEXT NOT NULL,
                side TEXT NOT NULL,
                quantity TEXT NOT NULL,
                price TEXT NOT NULL,
                notional TEXT NOT NULL,
                fee TEXT NOT NULL,
                realized_pnl TEXT NOT NULL,
                executed_at DOUBLE PRECISION NOT NULL,
                settled_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX trades_portfolio ON trades (portfolio_id, executed_at)",
            """
            CREATE TABLE value_points (
                seq {serial_pk},
                portfolio_id TEXT NOT NULL REFERENCES portfolios (portfolio_id),
                at DOUBLE PRECISION NOT NULL,
                value TEXT NOT NULL
            )
            """,
            "CREATE INDEX value_points_portfolio ON value_points (portfolio_id, at)",
        ),
    ),
    Migration(2, "outbox and processed events", OUTBOX_STATEMENTS),
)
