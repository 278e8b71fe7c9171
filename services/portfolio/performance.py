"""GetPerformance: a portfolio valued now, and how its value changed over a period.

Now: cash plus each open position at its market price (the position's last trade price when
marketdata has no quote for it). The period's starting value:
- DAY: cash and quantities as they were at 00:00 UTC (today's trades undone from the ledger),
  positions at the previous session's close from the quotes; exact whenever every position
  held at the start of the day has a quote.
- other periods (and DAY without closes): the latest recorded value point before the period,
  or the first one inside it. A value point is written at creation and after every settled
  trade: cash plus positions marked at their last trade prices.
Realized P&L is the sum over the trades settled in the period.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from trademesh.portfolio.v1 import portfolio_pb2

from mesh.store.driver import Database
from services.portfolio import convert, money
from services.portfolio.quotes import Price
from services.portfolio.store import (
    PortfolioRecord,
    PositionRecord,
    Side,
    TradeRecord,
    ValuePoint,
    queries,
)

logger = logging.getLogger(__name__)

_DAY_SECONDS = 86_400.0
PERIOD_DAYS: dict[portfolio_pb2.PerformancePeriod.ValueType, int] = {
    portfolio_pb2.PERFORMANCE_PERIOD_WEEK: 7,
    portfolio_pb2.PERFORMANCE_PERIOD_MONTH: 30,
    portfolio_pb2.PERFORMANCE_PERIOD_YEAR: 365,
}


@dataclass(frozen=True, slots=True)
class History:
    """What the store knows about the period."""

    portfolio: PortfolioRecord
    positions: tuple[PositionRecord, ...]
    trades: tuple[TradeRecord, ...]
    before: ValuePoint | None
    points: tuple[ValuePoint, ...]
    start: float


def period_start(
    period: portfolio_pb2.PerformancePeriod.ValueType, created_at: float, now: float
) -> float:
    if period == portfolio_pb2.PERFORMANCE_PERIOD_DAY:
        start = math.floor(now / _DAY_SECONDS) * _DAY_SECONDS
    elif period in PERIOD_DAYS:
        start = now - PERIOD_DAYS[period] * _DAY_SECONDS
    else:
        start = created_at
    return max(start, created_at)


async def history(db: Database, portfolio: PortfolioRecord, start: float) -> History:
    async with db.transaction() as tx:
        positions = await queries.positions(tx, portfolio.portfolio_id)
        trades = await queries.trades_since(tx, portfolio.portfolio_id, start)
        before, points = await queries.value_points_since(tx, portfolio.portfolio_id, start)
    return History(portfolio, tuple(positions), tuple(trades), before, tuple(points), start)


def _cash_flow(trade: TradeRecord) -> Decimal:
    if trade.side is Side.BUY:
        return -(trade.notional + trade.fee)
    return trade.notional - trade.fee


def _day_start_value(found: History, prices: Mapping[str, Price]) -> Decimal | None:
    cash = found.portfolio.cash - sum((_cash_flow(t) for t in found.trades), money.ZERO)
    quantities = {p.symbol: p.quantity for p in found.positions}
    for trade in found.trades:
        signed = trade.quantity if trade.side is Side.BUY else -trade.quantity
        quantities[trade.symbol] = quantities.get(trade.symbol, money.ZERO) - signed
    value = cash
    for symbol, quantity in quantities.items():
        if quantity == 0:
            continue
        price = prices.get(symbol)
        if price is None or price.previous_close is None:
            return None
        value += money.mul(quantity, price.previous_close)
    return value


def _recorded_start_value(found: History) -> Decimal:
    if found.before is not None:
        return found.before.value
    if found.points:
        return found.points[0].value
    return found.portfolio.initial_cash


def performance(
    found: History,
    period: portfolio_pb2.PerformancePeriod.ValueType,
    prices: Mapping[str, Price],
    now: float,
) -> portfolio_pb2.Performance:
    portfolio = found.portfolio
    currency = portfolio.base_currency
    positions_value = money.ZERO
    unrealized = money.ZERO
    for position in found.positions:
        if not position.is_open:
            continue
        quote = prices.get(position.symbol)
        price = position.last_price if quote is None else quote.price
        value = money.mul(position.quantity, price)
        positions_value += value
        unrealized += value - money.mul(position.quantity, position.average_cost)
    total = portfolio.cash + positions_value
    start_value: Decimal | None = None
    if period == portfolio_pb2.PERFORMANCE_PERIOD_DAY:
        start_value = _day_start_value(found, prices)
    if start_value is None:
        start_value = _recorded_start_value(found)
    change = total - start_value
    percent = (
        money.div(change * 100, start_value).quantize(money.PERCENT_STEP)
        if start_value != 0
        else money.ZERO.quantize(money.PERCENT_STEP)
    )
    realized = sum((t.realized_pnl for t in found.trades), money.ZERO)
    points: list[ValuePoint] = [ValuePoint(found.start, start_value)]
    points += [p for p in found.points if found.start < p.at < now]
    points.append(ValuePoint(now, total))
    return portfolio_pb2.Performance(
        portfolio_id=portfolio.portfolio_id,
        period=period or portfolio_pb2.PERFORMANCE_PERIOD_ALL,
        total_value=money.to_money(total, currency),
        cash_balance=money.to_money(portfolio.cash, currency),
        positions_value=money.to_money(positions_value, currency),
        unrealized_pnl=money.to_money(unrealized, currency),
        realized_pnl=money.to_money(realized, currency),
        period_change=money.to_money(change, currency),
        period_return_percent=format(percent, "f"),
        history=[
            portfolio_pb2.ValuePoint(
                time=convert.timestamp(p.at), value=money.to_money(p.value, currency)
            )
            for p in points
        ],
    )


def open_symbols(positions: Sequence[PositionRecord]) -> list[str]:
    return [p.symbol for p in positions if p.is_open]
