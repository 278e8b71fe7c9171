"""Rows of the trading tables to records and back: one column list per table."""

from __future__ import annotations

from decimal import Decimal

from mesh.store import Row
from services.trading.models import (
    Order,
    OrderStatus,
    OrderType,
    Reservation,
    RiskLimits,
    Side,
    TimeInForce,
    Trade,
)

ORDER_COLUMNS = (
    "order_id, client_order_id, user_id, portfolio_id, symbol, side, order_type, "
    "time_in_force, quantity, limit_price, status, filled_quantity, average_fill_price, "
    "reject_reason, reject_code, currency, reservation, reserved_amount, quote_price, "
    "expires_at, correlation_id, created_at, updated_at, version"
)
ORDER_PLACEHOLDERS = ", ".join("?" * 24)

TRADE_COLUMNS = (
    "trade_id, order_id, user_id, portfolio_id, symbol, side, quantity, price, notional, "
    "fee, currency, executed_at"
)
TRADE_PLACEHOLDERS = ", ".join("?" * 12)

LIMIT_COLUMNS = (
    "user_id, max_order_quantity, max_order_notional, max_daily_notional, currency, "
    "max_open_orders, trading_disabled, updated_at"
)


def _dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def order_params(order: Order) -> tuple[object, ...]:
    return (
        order.order_id,
        order.client_order_id,
        order.user_id,
        order.portfolio_id,
        order.symbol,
        str(order.side),
        str(order.order_type),
        str(order.time_in_force),
        str(order.quantity),
        _str(order.limit_price),
        str(order.status),
        str(order.filled_quantity),
        _str(order.average_fill_price),
        order.reject_reason,
        order.reject_code,
        order.currency,
        str(order.reservation),
        str(order.reserved_amount),
        _str(order.quote_price),
        order.expires_at,
        order.correlation_id,
        order.created_at,
        order.updated_at,
        order.version,
    )


def order_from_row(row: Row) -> Order:
    return Order(
        order_id=row[0],
        client_order_id=row[1],
        user_id=row[2],
        portfolio_id=row[3],
        symbol=row[4],
        side=Side(row[5]),
        order_type=OrderType(row[6]),
        time_in_force=TimeInForce(row[7]),
        quantity=Decimal(row[8]),
        limit_price=_dec(row[9]),
        status=OrderStatus(row[10]),
        filled_quantity=Decimal(row[11]),
        average_fill_price=_dec(row[12]),
        reject_reason=row[13],
        reject_code=row[14],
        currency=row[15],
        reservation=Reservation(row[16]),
        reserved_amount=Decimal(row[17]),
        quote_price=_dec(row[18]),
        expires_at=None if row[19] is None else float(row[19]),
        correlation_id=row[20],
        created_at=float(row[21]),
        updated_at=float(row[22]),
        version=int(row[23]),
    )


def trade_params(trade: Trade) -> tuple[object, ...]:
    return (
        trade.trade_id,
        trade.order_id,
        trade.user_id,
        trade.portfolio_id,
        trade.symbol,
        str(trade.side),
        str(trade.quantity),
        str(trade.price),
        str(trade.notional),
        str(trade.fee),
        trade.currency,
        trade.executed_at,
    )


def trade_from_row(row: Row) -> Trade:
    return Trade(
        trade_id=row[0],
        order_id=row[1],
        user_id=row[2],
        portfolio_id=row[3],
        symbol=row[4],
        side=Side(row[5]),
        quantity=Decimal(row[6]),
        price=Decimal(row[7]),
        notional=Decimal(row[8]),
        fee=Decimal(row[9]),
        currency=row[10],
        executed_at=float(row[11]),
    )


def limits_params(limits: RiskLimits) -> tuple[object, ...]:
    return (
        limits.user_id,
        _str(limits.max_order_quantity),
        _str(limits.max_order_notional),
        _str(limits.max_daily_notional),
        limits.currency,
        limits.max_open_orders,
        limits.trading_disabled,
        limits.updated_at,
    )


def limits_from_row(row: Row) -> RiskLimits:
    return RiskLimits(
        user_id=row[0],
        max_order_quantity=_dec(row[1]),
        max_order_notional=_dec(row[2]),
        max_daily_notional=_dec(row[3]),
        currency=row[4],
        max_open_orders=int(row[5]),
        trading_disabled=bool(row[6]),
        updated_at=float(row[7]),
    )
