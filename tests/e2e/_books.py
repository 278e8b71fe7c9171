"""What trading and portfolio hold for one trader, read back and reconciled.

The platform is whole when, once quiet: every order is final or resting; portfolio's ledger
holds each of trading's executions exactly once; cash and positions are what the executions
imply; and the cash portfolio keeps reserved is exactly what trading's open orders still hold,
order by order. The services' APIs give orders, executions, cash and positions; the ledger and
the per-order reservations are read from the two stores, which have no API for them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trademesh.portfolio.v1 import portfolio_pb2
from trademesh.trading.v1 import trading_pb2

from mesh.store import Row, open_database
from tests.conftest import eventually
from tests.e2e._platform import Platform
from tests.e2e._users import BUY, FINAL, Trader, amount

RESTING = trading_pb2.ORDER_STATUS_OPEN


async def store_rows(
    platform: Platform, service: str, sql: str, params: tuple[Any, ...]
) -> list[Row]:
    """Rows of a read-only query against `service`'s own store (SQLite file or PostgreSQL)."""
    url = platform.options.database_urls.get(service)
    # Named as the service: on PostgreSQL the name selects the service's schema.
    db = open_database(
        url, platform.workdir / f"{service}.sqlite3", name=service, max_connections=1
    )
    try:
        async with db.transaction() as tx:
            return await tx.fetchall(sql, params)
    finally:
        await db.close()


async def _pages(call: Any, request: Any, field: str, metadata: Any) -> list[Any]:
    items: list[Any] = []
    while True:
        response = await call(request, metadata=metadata)
        items.extend(getattr(response, field))
        if not response.next_page_token:
            return items
        request.page_token = response.next_page_token


async def orders_of(platform: Platform, trader: Trader) -> list[Any]:
    trading = await platform.stub("trading")
    request = trading_pb2.ListOrdersRequest(page_size=500, portfolio_id=trader.portfolio_id)
    return await _pages(trading.ListOrders, request, "orders", trader.metadata)


async def trades_of(platform: Platform, trader: Trader) -> list[Any]:
    trading = await platform.stub("trading")
    request = trading_pb2.ListTradesRequest(page_size=500, portfolio_id=trader.portfolio_id)
    return await _pages(trading.ListTrades, request, "trades", trader.metadata)


async def portfolio_of(platform: Platform, trader: Trader) -> Any:
    portfolio = await platform.stub("portfolio")
    response = await portfolio.GetPortfolio(
        portfolio_pb2.GetPortfolioRequest(portfolio_id=trader.portfolio_id),
        metadata=trader.metadata,
    )
    return response.portfolio


async def positions_of(platform: Platform, trader: Trader) -> dict[str, Decimal]:
    portfolio = await platform.stub("portfolio")
    request = portfolio_pb2.ListPositionsRequest(portfolio_id=trader.portfolio_id, page_size=500)
    listed = await _pages(portfolio.ListPositions, request, "positions", trader.metadata)
    return {p.symbol: Decimal(p.quantity) for p in listed if Decimal(p.quantity) != 0}


@dataclass
class Books:
    portfolio: Any
    positions: dict[str, Decimal]
    orders: list[Any]
    trades: list[Any]
    ledger: list[str]  # trade ids in portfolio's ledger, one per row
    held_by_trading: dict[str, Decimal]  # order id -> cash trading says the order holds
    held_by_portfolio: dict[str, Decimal]  # order id -> cash portfolio keeps reserved for it


async def read_books(platform: Platform, trader: Trader) -> Books:
    ledger = await store_rows(
        platform,
        "portfolio",
        "SELECT trade_id FROM trades WHERE portfolio_id = ?",
        (trader.portfolio_id,),
    )
    reservations = await store_rows(
        platform,
        "portfolio",
        "SELECT order_id, remaining FROM reservations WHERE portfolio_id = ? AND status = ?",
        (trader.portfolio_id, "open"),
    )
    holding = await store_rows(
        platform,
        "trading",
        "SELECT order_id, reserved_amount FROM orders "
        "WHERE portfolio_id = ? AND reservation IN (?, ?)",
        (trader.portfolio_id, "reserving", "held"),
    )
    return Books(
        portfolio=await portfolio_of(platform, trader),
        positions=await positions_of(platform, trader),
        orders=await orders_of(platform, trader),
        trades=await trades_of(platform, trader),
        ledger=[str(row[0]) for row in ledger],
        held_by_trading={str(r[0]): Decimal(str(r[1])) for r in holding},
        held_by_portfolio={str(r[0]): Decimal(str(r[1])) for r in reservations},
    )


def expected_cash(initial: Decimal, trades: list[Any]) -> Decimal:
    cash = initial
    for trade in trades:
        notional, fee = amount(trade.notional), amount(trade.fee)
        cash += -(notional + fee) if trade.side == BUY else notional - fee
    return cash


def expected_positions(trades: list[Any]) -> dict[str, Decimal]:
    held: dict[str, Decimal] = defaultdict(Decimal)
    for trade in trades:
        held[trade.symbol] += Decimal(trade.quantity) * (1 if trade.side == BUY else -1)
    return {symbol: quantity for symbol, quantity in held.items() if quantity != 0}


def discrepancies(books: Books, initial: Decimal) -> list[str]:
    """Everything that is not as a whole platform must have it; empty when all is well."""
    found: list[str] = []
    unsettled = [o.order_id for o in books.orders if o.status not in FINAL | {RESTING}]
    if unsettled:
        found.append(f"orders neither final nor resting: {unsettled}")
    trade_ids = sorted(t.trade_id for t in books.trades)
    if sorted(books.ledger) != trade_ids:
        found.append(f"ledger {sorted(books.ledger)} != trading's executions {trade_ids}")
    per_order: dict[str, int] = defaultdict(int)
    for trade in books.trades:
        per_order[trade.order_id] += 1
    filled = {o.order_id for o in books.orders if o.status == trading_pb2.ORDER_STATUS_FILLED}
    if set(per_order) != filled or any(n != 1 for n in per_order.values()):
        found.append(f"executions per order {dict(per_order)} != filled orders {sorted(filled)}")
    cash = amount(books.portfolio.cash_balance)
    if cash != expected_cash(initial, books.trades):
        found.append(f"cash {cash} != {expected_cash(initial, books.trades)} from executions")
    if books.positions != expected_positions(books.trades):
        found.append(f"positions {books.positions} != {expected_positions(books.trades)}")
    if books.held_by_portfolio != books.held_by_trading:
        found.append(
            f"reservations in portfolio {books.held_by_portfolio} != held by trading's open "
            f"orders {books.held_by_trading}"
        )
    reserved = amount(books.portfolio.reserved_cash)
    if reserved != sum(books.held_by_trading.values(), Decimal(0)):
        found.append(f"reserved cash {reserved} != {sum(books.held_by_trading.values())} held")
    return found


async def reconciled(platform: Platform, trader: Trader, *, timeout: float = 60.0) -> Books:
    """Poll until the trader's books balance; fail with what still differs."""
    latest: list[Books] = []

    async def balanced() -> bool:
        books = await read_books(platform, trader)
        latest[:] = [books]
        problems = discrepancies(books, trader.initial_cash)
        assert not problems, problems
        return True

    try:
        await eventually(balanced, timeout=timeout, interval=0.3, what="books reconciled")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{platform.log_tails()}") from None
    return latest[0]
