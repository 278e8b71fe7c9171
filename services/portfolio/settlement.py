"""Settling one execution into cash and positions: the one function behind both the
SettleTrade RPC and the trading.trades.v1 consumer, idempotent per trade_id.

A buy costs notional + fee. It consumes the order's open reservation: the reserved cash stops
being reserved, the cost leaves the cash, and whatever the reservation held beyond the cost is
thereby released (an order fills in one execution). Should the fill cost more than was
reserved (a market order filled above its estimate), the difference comes from available cash.
A sell needs the quantity held; it adds notional - fee to the cash and realizes
(notional - fee) - quantity * average cost. Average cost includes fees and is unchanged by
sales.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from mesh.errors import Conflict, FailedPrecondition, FieldViolation, InvalidArgument
from mesh.events import Topic
from mesh.store.driver import Database, Transaction
from services.portfolio import events, money
from services.portfolio.access import not_found
from services.portfolio.store import (
    PortfolioRecord,
    PositionRecord,
    ReservationStatus,
    Side,
    TradeRecord,
    ValuePoint,
    queries,
)


@dataclass(frozen=True, slots=True)
class TradeInput:
    """One execution as trading recorded it."""

    trade_id: str
    portfolio_id: str
    order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    notional: Decimal
    notional_currency: str
    fee: Decimal
    fee_currency: str  # "" when no fee was given
    executed_at: float


@dataclass(frozen=True, slots=True)
class Settlement:
    portfolio: PortfolioRecord
    position: PositionRecord
    applied: bool  # False when the trade had been settled before


def _invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(f"{field}: {description}", [FieldViolation(field, description)])


def _check(trade: TradeInput, portfolio: PortfolioRecord) -> None:
    currency = portfolio.base_currency
    if trade.notional_currency != currency:
        raise _invalid(
            "notional.currency_code",
            f"must be the portfolio's base currency {currency}, got {trade.notional_currency!r}",
        )
    if trade.fee_currency and trade.fee_currency != currency:
        raise _invalid(
            "fee.currency_code",
            f"must be the portfolio's base currency {currency}, got {trade.fee_currency!r}",
        )
    if trade.quantity <= 0 or trade.price <= 0 or trade.notional <= 0 or trade.fee < 0:
        raise _invalid("trade", "quantity, price and notional must be positive, fee not negative")


def _empty_position(trade: TradeInput) -> PositionRecord:
    zero = money.ZERO
    return PositionRecord(trade.portfolio_id, trade.symbol, zero, zero, zero, zero, 0.0)


async def _current(
    tx: Transaction, portfolio: PortfolioRecord, trade: TradeInput, applied: bool
) -> Settlement:
    position = await queries.position(tx, portfolio.portfolio_id, trade.symbol)
    return Settlement(portfolio, position or _empty_position(trade), applied)


async def settle_in(
    db: Database, tx: Transaction, trade: TradeInput, updates: Topic, *, now: float
) -> Settlement:
    """Apply `trade` inside `tx` (a write transaction) unless its trade_id was settled before."""
    portfolio = await queries.portfolio(tx, trade.portfolio_id, for_update=db.for_update)
    if portfolio is None or portfolio.is_deleted:
        raise not_found(trade.portfolio_id)
    settled = await queries.trade(tx, trade.trade_id)
    if settled is not None:
        if settled.portfolio_id != trade.portfolio_id:
            raise Conflict(
                f"trade {trade.trade_id} was settled into another portfolio",
                reason="TRADE_CONFLICT",
            )
        return await _current(tx, portfolio, trade, applied=False)
    _check(trade, portfolio)
    every = await queries.positions(tx, trade.portfolio_id)
    before = next((p for p in every if p.symbol == trade.symbol), None)
    held = before or _empty_position(trade)
    if trade.side is Side.BUY:
        cash, reserved, position, realized = await _buy(db, tx, portfolio, held, trade, now)
    else:
        cash, reserved, position, realized = _sell(portfolio, held, trade, now)
    await queries.save_position(tx, position, exists=before is not None)
    await queries.insert_trade(
        tx,
        TradeRecord(
            trade_id=trade.trade_id,
            portfolio_id=trade.portfolio_id,
            order_id=trade.order_id,
            symbol=trade.symbol,
            side=trade.side,
            quantity=trade.quantity,
            price=trade.price,
            notional=trade.notional,
            fee=trade.fee,
            realized_pnl=realized,
            executed_at=trade.executed_at,
            settled_at=now,
        ),
    )
    await queries.set_cash(tx, portfolio.portfolio_id, cash=cash, reserved=reserved, now=now)
    after = replace(portfolio, cash=cash, reserved=reserved, updated_at=now)
    held_now = [p for p in every if p.symbol != trade.symbol] + [position]
    marked = sum((money.mul(p.quantity, p.last_price) for p in held_now), money.ZERO)
    await queries.insert_value_point(
        tx, trade.portfolio_id, ValuePoint(now, money.cash(cash + marked))
    )
    await events.publish(
        tx,
        updates,
        events.TRADE_SETTLED,
        after,
        [position],
        now=now,
        trade_id=trade.trade_id,
        order_id=trade.order_id,
    )
    return Settlement(after, position, applied=True)


async def _buy(
    db: Database,
    tx: Transaction,
    portfolio: PortfolioRecord,
    held: PositionRecord,
    trade: TradeInput,
    now: float,
) -> tuple[Decimal, Decimal, PositionRecord, Decimal]:
    cost = money.cash(trade.notional + trade.fee)
    reservation = await queries.reservation(tx, trade.order_id, for_update=db.for_update)
    consumes = (
        reservation is not None
        and reservation.portfolio_id == portfolio.portfolio_id
        and reservation.status is ReservationStatus.OPEN
    )
    reserved_for_order = reservation.remaining if consumes and reservation else money.ZERO
    spendable = portfolio.available + reserved_for_order
    if cost > spendable:
        raise FailedPrecondition(
            f"insufficient cash to settle trade {trade.trade_id}: it costs "
            f"{money.show(cost, portfolio.base_currency)}, "
            f"{money.show(spendable, portfolio.base_currency)} is available to the order",
            reason="INSUFFICIENT_CASH",
            metadata={"trade_id": trade.trade_id, "portfolio_id": portfolio.portfolio_id},
        )
    if consumes:
        await queries.update_reservation(
            tx, trade.order_id, remaining=money.ZERO, status=ReservationStatus.CONSUMED, now=now
        )
    quantity = held.quantity + trade.quantity
    average = money.price(money.div(money.mul(held.quantity, held.average_cost) + cost, quantity))
    position = PositionRecord(
        portfolio_id=portfolio.portfolio_id,
        symbol=trade.symbol,
        quantity=quantity,
        average_cost=average,
        realized_pnl=held.realized_pnl,
        last_price=trade.price,
        updated_at=now,
    )
    return portfolio.cash - cost, portfolio.reserved - reserved_for_order, position, money.ZERO


def _sell(
    portfolio: PortfolioRecord, held: PositionRecord, trade: TradeInput, now: float
) -> tuple[Decimal, Decimal, PositionRecord, Decimal]:
    if held.quantity < trade.quantity:
        raise FailedPrecondition(
            f"cannot settle the sale of {money.canonical(trade.quantity)} {trade.symbol}: "
            f"the portfolio holds {money.canonical(held.quantity)}",
            reason="INSUFFICIENT_POSITION",
            metadata={"trade_id": trade.trade_id, "symbol": trade.symbol},
        )
    proceeds = money.cash(trade.notional - trade.fee)
    realized = money.cash(proceeds - money.mul(trade.quantity, held.average_cost))
    position = PositionRecord(
        portfolio_id=portfolio.portfolio_id,
        symbol=trade.symbol,
        quantity=held.quantity - trade.quantity,
        average_cost=held.average_cost,
        realized_pnl=held.realized_pnl + realized,
        last_price=trade.price,
        updated_at=now,
    )
    return portfolio.cash + proceeds, portfolio.reserved, position, realized
