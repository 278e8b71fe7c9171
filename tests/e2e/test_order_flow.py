"""An order's whole path through the platform: trading's risk checks and saga, portfolio's
cash reservation, the fill, TradeExecuted through Kafka, settlement in portfolio."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from trademesh.marketdata.v1 import marketdata_pb2
from trademesh.trading.v1 import trading_pb2

from interceptors import status_details
from tests.conftest import eventually
from tests.e2e._books import orders_of, portfolio_of, reconciled, trades_of
from tests.e2e._platform import Platform
from tests.e2e._users import SELL, Trader, amount, new_trader, place

CENT = Decimal("0.01")


async def _refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


async def test_a_market_buy_changes_cash_and_position_exactly_once(platform: Platform) -> None:
    trader = await new_trader(platform, "100000")
    first = await place(platform, trader, "MSFT", "3", client_order_id="buy-msft-once")
    again = await place(platform, trader, "MSFT", "3", client_order_id="buy-msft-once")
    assert again.order_id == first.order_id

    books = await reconciled(platform, trader)
    assert [o.order_id for o in books.orders] == [first.order_id]
    (trade,) = books.trades
    assert books.ledger == [trade.trade_id]
    assert books.positions == {"MSFT": Decimal(3)}
    cost = amount(trade.notional) + amount(trade.fee)
    assert amount(trade.notional) == (3 * Decimal(trade.price)).quantize(CENT)
    assert amount(books.portfolio.cash_balance) == trader.initial_cash - cost
    assert amount(books.portfolio.available_cash) == trader.initial_cash - cost
    assert amount(books.portfolio.reserved_cash) == 0

    # A later execution of the same portfolio rides the same partition: once it is settled,
    # any second delivery of the first would have been applied too.
    await place(platform, trader, "KO", "2", client_order_id="buy-ko-after")
    books = await reconciled(platform, trader)
    assert len(books.trades) == 2 and len(books.ledger) == 2
    assert books.positions == {"MSFT": Decimal(3), "KO": Decimal(2)}

    # The same client_order_id for a different order is refused, and changes nothing.
    error = await _refused(place(platform, trader, "MSFT", "4", client_order_id="buy-msft-once"))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS, error.details()
    assert len(await orders_of(platform, trader)) == 2


async def test_insufficient_cash_is_refused_with_a_reason_and_reserves_nothing(
    platform: Platform,
) -> None:
    trader = await new_trader(platform, "100")
    error = await _refused(place(platform, trader, "MSFT", "10", client_order_id="too-big"))
    details = status_details(error)
    assert details.code == grpc.StatusCode.FAILED_PRECONDITION, details
    info = details.find(error_details_pb2.ErrorInfo)
    assert info is not None and info.reason == "INSUFFICIENT_CASH", details
    assert "insufficient cash" in details.message and "100.00" in details.message, details

    # Asking again replays the refusal; there is one order, rejected, with the reason.
    again = await _refused(place(platform, trader, "MSFT", "10", client_order_id="too-big"))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    (order,) = await orders_of(platform, trader)
    assert order.status == trading_pb2.ORDER_STATUS_REJECTED
    assert "insufficient cash" in order.reject_reason

    portfolio = await portfolio_of(platform, trader)
    assert amount(portfolio.available_cash) == Decimal(100)
    assert amount(portfolio.reserved_cash) == 0
    books = await reconciled(platform, trader)
    assert books.held_by_portfolio == {} and books.trades == []

    # The cash is all there for an order that fits.
    await place(platform, trader, "KO", "1")
    books = await reconciled(platform, trader)
    assert len(books.trades) == 1 and books.positions == {"KO": Decimal(1)}


async def _resting_band(platform: Platform, trader: Trader, symbol: str) -> tuple[Any, Any]:
    """A limit buy just under the ask and a limit sell just over the bid, both resting when
    placed: the price must leave the band between them, and one of them then fills."""
    marketdata = await platform.stub("marketdata")
    trading = await platform.stub("trading")
    for _attempt in range(5):
        quote = (
            await marketdata.GetQuote(
                marketdata_pb2.GetQuoteRequest(symbol=symbol), metadata=trader.metadata
            )
        ).quote
        buy_limit = (Decimal(quote.ask_price) * Decimal("0.9995")).quantize(CENT, ROUND_FLOOR)
        sell_limit = (Decimal(quote.bid_price) * Decimal("1.0005")).quantize(CENT, ROUND_CEILING)
        buy = await place(platform, trader, symbol, "1", limit=buy_limit)
        sell = await place(platform, trader, symbol, "1", side=SELL, limit=sell_limit)
        if buy.status == sell.status == trading_pb2.ORDER_STATUS_OPEN:
            return buy, sell
        # The price moved onto a limit between the quote and the order: try a fresh band.
        for order in (buy, sell):
            if order.status == trading_pb2.ORDER_STATUS_OPEN:
                await trading.CancelOrder(
                    trading_pb2.CancelOrderRequest(order_id=order.order_id),
                    metadata=trader.metadata,
                )
    raise AssertionError("no resting band could be placed in five attempts")


async def test_a_resting_limit_order_fills_when_the_price_crosses(platform: Platform) -> None:
    trader = await new_trader(platform, "100000")
    symbol = "MSFT"
    await place(platform, trader, symbol, "2")  # holdings for the sell
    await reconciled(platform, trader)
    buy, sell = await _resting_band(platform, trader, symbol)
    trading = await platform.stub("trading")

    async def one_filled() -> Any:
        for order in (buy, sell):
            current = await trading.GetOrder(
                trading_pb2.GetOrderRequest(order_id=order.order_id), metadata=trader.metadata
            )
            if current.order.status == trading_pb2.ORDER_STATUS_FILLED:
                return current.order
        return None

    filled = await eventually(one_filled, timeout=60, what="a resting limit order filled")
    other = sell if filled.order_id == buy.order_id else buy
    (trade,) = [t for t in await trades_of(platform, trader) if t.order_id == filled.order_id]
    if filled.order_id == buy.order_id:
        assert Decimal(trade.price) <= Decimal(buy.limit_price), (trade, buy)
    else:
        assert Decimal(trade.price) >= Decimal(sell.limit_price), (trade, sell)

    # Cancelling the other gives its cash back, unless the price crossed it as well.
    try:
        await trading.CancelOrder(
            trading_pb2.CancelOrderRequest(order_id=other.order_id), metadata=trader.metadata
        )
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
    books = await reconciled(platform, trader)
    assert amount(books.portfolio.reserved_cash) == 0
    statuses = {o.order_id: o.status for o in books.orders}
    assert statuses[filled.order_id] == trading_pb2.ORDER_STATUS_FILLED
    assert statuses[other.order_id] in (
        trading_pb2.ORDER_STATUS_CANCELLED,
        trading_pb2.ORDER_STATUS_FILLED,
    )
