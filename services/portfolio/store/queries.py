"""The portfolio store's SQL, one small function per statement, run inside a caller's
transaction. Amounts go in and out as Decimals, stored as canonical decimal strings."""

from __future__ import annotations

from decimal import Decimal

from mesh.store.driver import Row, Transaction
from services.portfolio.money import canonical
from services.portfolio.store.records import (
    PortfolioRecord,
    PositionRecord,
    ReservationRecord,
    ReservationStatus,
    Side,
    TradeRecord,
    ValuePoint,
)

_PORTFOLIO = (
    "portfolio_id, user_id, name, description, base_currency, initial_cash, cash, reserved, "
    "created_at, updated_at, deleted_at"
)
_POSITION = "portfolio_id, symbol, quantity, average_cost, realized_pnl, last_price, updated_at"
_RESERVATION = "order_id, portfolio_id, amount, remaining, status, created_at, updated_at"
_TRADE = (
    "trade_id, portfolio_id, order_id, symbol, side, quantity, price, notional, fee, "
    "realized_pnl, executed_at, settled_at"
)


def _portfolio(row: Row) -> PortfolioRecord:
    return PortfolioRecord(
        portfolio_id=row[0],
        user_id=row[1],
        name=row[2],
        description=row[3],
        base_currency=row[4],
        initial_cash=Decimal(row[5]),
        cash=Decimal(row[6]),
        reserved=Decimal(row[7]),
        created_at=float(row[8]),
        updated_at=float(row[9]),
        deleted_at=None if row[10] is None else float(row[10]),
    )


def _position(row: Row) -> PositionRecord:
    return PositionRecord(
        portfolio_id=row[0],
        symbol=row[1],
        quantity=Decimal(row[2]),
        average_cost=Decimal(row[3]),
        realized_pnl=Decimal(row[4]),
        last_price=Decimal(row[5]),
        updated_at=float(row[6]),
    )


def _reservation(row: Row) -> ReservationRecord:
    return ReservationRecord(
        order_id=row[0],
        portfolio_id=row[1],
        amount=Decimal(row[2]),
        remaining=Decimal(row[3]),
        status=ReservationStatus(row[4]),
        created_at=float(row[5]),
        updated_at=float(row[6]),
    )


def _trade(row: Row) -> TradeRecord:
    return TradeRecord(
        trade_id=row[0],
        portfolio_id=row[1],
        order_id=row[2],
        symbol=row[3],
        side=Side(row[4]),
        quantity=Decimal(row[5]),
        price=Decimal(row[6]),
        notional=Decimal(row[7]),
        fee=Decimal(row[8]),
        realized_pnl=Decimal(row[9]),
        executed_at=float(row[10]),
        settled_at=float(row[11]),
    )


# -- portfolios --


async def portfolio(
    tx: Transaction, portfolio_id: str, *, for_update: str = ""
) -> PortfolioRecord | None:
    """`for_update` is the driver's `Database.for_update`, to lock the row for a change."""
    row = await tx.fetchone(
        f"SELECT {_PORTFOLIO} FROM portfolios WHERE portfolio_id = ?{for_update}",
        (portfolio_id,),
    )
    return None if row is None else _portfolio(row)


async def insert_portfolio(tx: Transaction, record: PortfolioRecord) -> None:
    await tx.execute(
        f"INSERT INTO portfolios ({_PORTFOLIO}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.portfolio_id,
            record.user_id,
            record.name,
            record.description,
            record.base_currency,
            canonical(record.initial_cash),
            canonical(record.cash),
            canonical(record.reserved),
            record.created_at,
            record.updated_at,
            record.deleted_at,
        ),
    )


async def set_cash(
    tx: Transaction, portfolio_id: str, *, cash: Decimal, reserved: Decimal, now: float
) -> None:
    await tx.execute(
        "UPDATE portfolios SET cash = ?, reserved = ?, updated_at = ? WHERE portfolio_id = ?",
        (canonical(cash), canonical(reserved), now, portfolio_id),
    )


async def set_details(
    tx: Transaction, portfolio_id: str, *, name: str, description: str, now: float
) -> None:
    await tx.execute(
        "UPDATE portfolios SET name = ?, description = ?, updated_at = ? WHERE portfolio_id = ?",
        (name, description, now, portfolio_id),
    )


async def mark_deleted(tx: Transaction, portfolio_id: str, now: float) -> None:
    await tx.execute(
        "UPDATE portfolios SET deleted_at = ?, updated_at = ? WHERE portfolio_id = ?",
        (now, now, portfolio_id),
    )


async def user_portfolios(
    tx: Transaction, user_id: str, *, after: tuple[float, str] | None, limit: int
) -> list[PortfolioRecord]:
    """Live portfolios of `user_id`, oldest first, after the (created_at, id) cursor."""
    where = "user_id = ? AND deleted_at IS NULL"
    params: list[object] = [user_id]
    if after is not None:
        where += " AND (created_at > ? OR (created_at = ? AND portfolio_id > ?))"
        params += [after[0], after[0], after[1]]
    rows = await tx.fetchall(
        f"SELECT {_PORTFOLIO} FROM portfolios WHERE {where} "
        "ORDER BY created_at, portfolio_id LIMIT ?",
        (*params, limit),
    )
    return [_portfolio(row) for row in rows]


# -- reservations --


async def reservation(
    tx: Transaction, order_id: str, *, for_update: str = ""
) -> ReservationRecord | None:
    row = await tx.fetchone(
        f"SELECT {_RESERVATION} FROM reservations WHERE order_id = ?{for_update}", (order_id,)
    )
    return None if row is None else _reservation(row)


async def insert_reservation(tx: Transaction, record: ReservationRecord) -> None:
    await tx.execute(
        f"INSERT INTO reservations ({_RESERVATION}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            record.order_id,
            record.portfolio_id,
            canonical(record.amount),
            canonical(record.remaining),
            str(record.status),
            record.created_at,
            record.updated_at,
        ),
    )


async def update_reservation(
    tx: Transaction,
    order_id: str,
    *,
    remaining: Decimal,
    status: ReservationStatus,
    now: float,
) -> None:
    await tx.execute(
        "UPDATE reservations SET remaining = ?, status = ?, updated_at = ? WHERE order_id = ?",
        (canonical(remaining), str(status), now, order_id),
    )


async def open_reservations(tx: Transaction, portfolio_id: str) -> list[ReservationRecord]:
    rows = await tx.fetchall(
        f"SELECT {_RESERVATION} FROM reservations WHERE portfolio_id = ? AND status = ? "
        "ORDER BY created_at, order_id",
        (portfolio_id, str(ReservationStatus.OPEN)),
    )
    return [_reservation(row) for row in rows]


# -- positions --


async def position(tx: Transaction, portfolio_id: str, symbol: str) -> PositionRecord | None:
    row = await tx.fetchone(
        f"SELECT {_POSITION} FROM positions WHERE portfolio_id = ? AND symbol = ?",
        (portfolio_id, symbol),
    )
    return None if row is None else _position(row)


async def positions(tx: Transaction, portfolio_id: str) -> list[PositionRecord]:
    """Every position the portfolio has had, by symbol; closed ones have quantity zero."""
    rows = await tx.fetchall(
        f"SELECT {_POSITION} FROM positions WHERE portfolio_id = ? ORDER BY symbol",
        (portfolio_id,),
    )
    return [_position(row) for row in rows]


async def open_positions_page(
    tx: Transaction, portfolio_id: str, *, after: str | None, limit: int
) -> list[PositionRecord]:
    where = "portfolio_id = ? AND quantity <> '0'"
    params: list[object] = [portfolio_id]
    if after is not None:
        where += " AND symbol > ?"
        params.append(after)
    rows = await tx.fetchall(
        f"SELECT {_POSITION} FROM positions WHERE {where} ORDER BY symbol LIMIT ?",
        (*params, limit),
    )
    return [_position(row) for row in rows]


async def save_position(tx: Transaction, record: PositionRecord, *, exists: bool) -> None:
    values = (
        canonical(record.quantity),
        canonical(record.average_cost),
        canonical(record.realized_pnl),
        canonical(record.last_price),
        record.updated_at,
    )
    if exists:
        await tx.execute(
            "UPDATE positions SET quantity = ?, average_cost = ?, realized_pnl = ?, "
            "last_price = ?, updated_at = ? WHERE portfolio_id = ? AND symbol = ?",
            (*values, record.portfolio_id, record.symbol),
        )
    else:
        await tx.execute(
            f"INSERT INTO positions ({_POSITION}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (record.portfolio_id, record.symbol, *values),
        )


# -- trades --


async def trade(tx: Transaction, trade_id: str) -> TradeRecord | None:
    row = await tx.fetchone(f"SELECT {_TRADE} FROM trades WHERE trade_id = ?", (trade_id,))
    return None if row is None else _trade(row)


async def insert_trade(tx: Transaction, record: TradeRecord) -> None:
    await tx.execute(
        f"INSERT INTO trades ({_TRADE}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.trade_id,
            record.portfolio_id,
            record.order_id,
            record.symbol,
            str(record.side),
            canonical(record.quantity),
            canonical(record.price),
            canonical(record.notional),
            canonical(record.fee),
            canonical(record.realized_pnl),
            record.executed_at,
            record.settled_at,
        ),
    )


async def trades_since(tx: Transaction, portfolio_id: str, since: float) -> list[TradeRecord]:
    """The portfolio's trades executed at or after `since`, oldest first."""
    rows = await tx.fetchall(
        f"SELECT {_TRADE} FROM trades WHERE portfolio_id = ? AND executed_at >= ? "
        "ORDER BY executed_at, trade_id",
        (portfolio_id, since),
    )
    return [_trade(row) for row in rows]


# -- value points --


async def insert_value_point(tx: Transaction, portfolio_id: str, point: ValuePoint) -> None:
    await tx.execute(
        "INSERT INTO value_points (portfolio_id, at, value) VALUES (?, ?, ?)",
        (portfolio_id, point.at, canonical(point.value)),
    )


async def value_points_since(
    tx: Transaction, portfolio_id: str, since: float
) -> tuple[ValuePoint | None, list[ValuePoint]]:
    """The last point before `since` (the value the period starts from) and every point
    from `since` on, oldest first."""
    before = await tx.fetchone(
        "SELECT at, value FROM value_points WHERE portfolio_id = ? AND at < ? "
        "ORDER BY at DESC, seq DESC LIMIT 1",
        (portfolio_id, since),
    )
    rows = await tx.fetchall(
        "SELECT at, value FROM value_points WHERE portfolio_id = ? AND at >= ? ORDER BY at, seq",
        (portfolio_id, since),
    )
    return (
        None if before is None else ValuePoint(float(before[0]), Decimal(before[1])),
        [ValuePoint(float(row[0]), Decimal(row[1])) for row in rows],
    )
