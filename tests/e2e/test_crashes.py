"""Processes killed in the middle of the order saga (SIGKILL: nothing flushed, nothing
deregistered) and started again: no execution lost or settled twice, no reservation stuck,
no fill without its settlement."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import grpc
from trademesh.marketdata.v1 import marketdata_pb2
from trademesh.trading.v1 import trading_pb2

from tests.conftest import eventually
from tests.e2e._books import reconciled
from tests.e2e._platform import Platform
from tests.e2e._users import BUY, SELL, Trader, new_trader, place

# What a caller may get while a service is down or restarting; it asks again with the same
# client_order_id, which PlaceOrder is idempotent on.
TRANSIENT = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)


async def place_until_answered(
    platform: Platform,
    trader: Trader,
    symbol: str,
    client_order_id: str,
    *,
    side: int = BUY,
    limit: Decimal | None = None,
    attempts: int = 100,
) -> Any | None:
    """PlaceOrder until trading answers: the order, or None when it was refused."""
    for _attempt in range(attempts):
        try:
            return await place(
                platform,
                trader,
                symbol,
                "1",
                side=side,
                limit=limit,
                client_order_id=client_order_id,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
                return None
            if error.code() not in TRANSIENT:
                raise
        await asyncio.sleep(0.2)  # a caller's pause before asking again
    raise AssertionError(f"PlaceOrder {client_order_id} got no answer in {attempts} attempts")


def _count(values: list[Any], at_least: int) -> Any:
    async def probe() -> bool:
        return len(values) >= at_least

    return probe


async def test_portfolio_killed_while_trades_flow_loses_and_doubles_nothing(
    platform: Platform,
) -> None:
    trader = await new_trader(platform, "1000000")
    answered: list[Any] = []
    portfolio_up = True
    stop = asyncio.Event()

    async def flow() -> None:
        n = 0
        while not stop.is_set():
            if n % 4 == 3 and portfolio_up:
                # A sell checks holdings at portfolio: asked once, refused when too few settled.
                try:
                    answered.append(
                        await place(platform, trader, "KO", "1", side=SELL, client_order_id=f"s{n}")
                    )
                except grpc.aio.AioRpcError as error:
                    assert error.code() in TRANSIENT | {grpc.StatusCode.FAILED_PRECONDITION}
            else:
                answered.append(await place_until_answered(platform, trader, "KO", f"b{n}"))
            n += 1

    flowing = asyncio.create_task(flow())
    try:
        await eventually(_count(answered, 8), timeout=60, what="orders before the crash")
        await platform.kill("portfolio")
        portfolio_up = False
        down = len(answered)
        await eventually(_count(answered, down + 6), timeout=60, what="orders while it is down")
        await platform.launch("portfolio")
        portfolio_up = True
        up = len(answered)
        await eventually(_count(answered, up + 6), timeout=60, what="orders after the restart")
    finally:
        stop.set()
        await flowing

    # Buys answered while portfolio was down wait for their reservation, not for the caller.
    during = [order for order in answered[down:up] if order is not None]
    assert any(o.status == trading_pb2.ORDER_STATUS_PENDING for o in during), during
    books = await reconciled(platform, trader, timeout=90)
    assert len(books.trades) >= 12, books.orders
    # Settled after the restart, the next execution shows no earlier one was applied twice.
    await place(platform, trader, "KO", "1")
    barrier = await reconciled(platform, trader, timeout=60)
    assert len(barrier.trades) == len(books.trades) + 1


async def test_trading_killed_with_orders_in_flight_leaves_no_stuck_reservation(
    platform: Platform,
) -> None:
    trader = await new_trader(platform, "1000000")
    marketdata = await platform.stub("marketdata")
    quote = (
        await marketdata.GetQuote(
            marketdata_pb2.GetQuoteRequest(symbol="MSFT"), metadata=trader.metadata
        )
    ).quote
    far_below = (Decimal(quote.ask_price) / 2).quantize(Decimal("0.01"))
    # Market buys that fill at once, and limit buys far under the price that rest holding cash.
    wanted: dict[str, Decimal | None] = {
        f"o{i}": far_below if i % 3 == 1 else None for i in range(45)
    }
    answered: dict[str, Any] = {}

    async def send(cid: str) -> None:
        symbol = "MSFT" if wanted[cid] is not None else "KO"
        try:
            answered[cid] = await place(
                platform, trader, symbol, "1", limit=wanted[cid], client_order_id=cid
            )
        except grpc.aio.AioRpcError as error:
            assert error.code() in TRANSIENT, error

    sending = [asyncio.create_task(send(cid)) for cid in wanted]

    async def first_answers() -> bool:
        return len(answered) >= 5

    await eventually(first_answers, timeout=60, interval=0.02, what="the first answers")
    await platform.kill("trading")
    await asyncio.gather(*sending)
    assert len(answered) < len(wanted), "every order was answered before the crash"
    await platform.launch("trading")

    # Asking again for every order: what was answered keeps its id; the rest is placed once.
    for cid, limit in wanted.items():
        symbol = "MSFT" if limit is not None else "KO"
        order = await place_until_answered(platform, trader, symbol, cid, limit=limit)
        assert order is not None, cid
        if cid in answered:
            assert order.order_id == answered[cid].order_id, cid

    books = await reconciled(platform, trader, timeout=90)
    assert len(books.orders) == len(wanted)
    resting = {o.order_id for o in books.orders if o.status == trading_pb2.ORDER_STATUS_OPEN}
    assert resting and set(books.held_by_portfolio) == resting

    trading = await platform.stub("trading")
    for order_id in resting:
        await trading.CancelOrder(
            trading_pb2.CancelOrderRequest(order_id=order_id), metadata=trader.metadata
        )
    books = await reconciled(platform, trader, timeout=60)
    assert books.held_by_portfolio == {} and books.portfolio.reserved_cash.units == 0
