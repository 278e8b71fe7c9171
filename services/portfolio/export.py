"""ExportPortfolio: the portfolio's cash and open positions as CSV (RFC 4180: CRLF line
ends, a header row, fields quoted when they need it), built in a worker thread."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Mapping
from decimal import Decimal

from services.portfolio import money
from services.portfolio.quotes import Price
from services.portfolio.store import Snapshot

CONTENT_TYPE = "text/csv; charset=utf-8"
HEADER = (
    "type",
    "symbol",
    "quantity",
    "average_cost",
    "cost_basis",
    "market_price",
    "market_value",
    "unrealized_pnl",
    "realized_pnl",
    "currency",
)


def filename(portfolio_id: str) -> str:
    return f"portfolio-{portfolio_id}.csv"


def _amount(value: Decimal) -> str:
    return money.canonical(money.cash(value))


def render(snapshot: Snapshot, prices: Mapping[str, Price]) -> bytes:
    """A CASH row (the cash balance in market_value), a RESERVED_CASH row (the part of it
    set aside for open orders), then a POSITION row per open position by symbol; a
    position's market columns are empty when there is no price for it."""
    portfolio = snapshot.portfolio
    currency = portfolio.base_currency
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADER)
    for kind, amount in (("CASH", portfolio.cash), ("RESERVED_CASH", portfolio.reserved)):
        writer.writerow((kind, "", "", "", "", "", _amount(amount), "", "", currency))
    for position in snapshot.open_positions:
        cost = money.mul(position.quantity, position.average_cost)
        price = prices.get(position.symbol)
        market: tuple[str, str, str] = ("", "", "")
        if price is not None:
            value = money.mul(position.quantity, price.price)
            market = (money.canonical(price.price), _amount(value), _amount(value - cost))
        writer.writerow(
            (
                "POSITION",
                position.symbol,
                money.canonical(position.quantity),
                money.canonical(position.average_cost),
                _amount(cost),
                *market,
                _amount(position.realized_pnl),
                currency,
            )
        )
    return out.getvalue().encode("utf-8")


async def render_csv(snapshot: Snapshot, prices: Mapping[str, Price]) -> bytes:
    """`render` off the event loop."""
    return await asyncio.to_thread(render, snapshot, prices)
