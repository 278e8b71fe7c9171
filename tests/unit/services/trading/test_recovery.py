"""A trading process that stops between two saga steps: the next one resumes or compensates."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from trademesh.trading.v1 import trading_pb2

from services.trading.models import OrderStatus, Reservation
from services.trading.upstreams import Cash

from .harness import Harness


class StopsAfterReserving:
    """Portfolio's answer to ReserveCash arrives, and the process never gets further: the
    call hangs here until the service object is stopped, as if the process had died."""

    def __init__(self, inner: Cash) -> None:
        self._inner = inner
        self.reserved = asyncio.Event()

    async def reserve(
        self, *, portfolio_id: str, order_id: str, user_id: str, amount: Decimal, currency: str
    ) -> None:
        await self._inner.reserve(
            portfolio_id=portfolio_id,
            order_id=order_id,
            user_id=user_id,
            amount=amount,
            currency=currency,
        )
        self.reserved.set()
        await asyncio.Event().wait()

    async def release(self, *, portfolio_id: str, order_id: str) -> None:
        await self._inner.release(portfolio_id=portfolio_id, order_id=order_id)


async def _crash_after_reserving(harness: Harness, **fields: object) -> str:
    """Place an order on a service that stops right after the reservation; its order id."""
    await harness.stop_trading()
    stopper: list[StopsAfterReserving] = []

    def wrap(cash: Cash) -> Cash:
        stopper.append(StopsAfterReserving(cash))
        return stopper[0]

    await harness.start_trading(wrap_cash=wrap)
    alice = harness.user()
    placing = asyncio.ensure_future(harness.place(alice, client_order_id="crash", **fields))
    await asyncio.wait_for(stopper[0].reserved.wait(), 10)
    order = await harness.service.store.find_client_order(alice.user_id, "crash")
    assert order is not None
    await harness.stop_trading()
    await asyncio.wait([placing], timeout=10)  # the caller's call ended with the process
    assert placing.done()
    harness.current_user = alice  # type: ignore[attr-defined]
    return order.order_id


async def test_market_order_reserved_before_a_crash_is_filled_on_restart(
    harness: Harness,
) -> None:
    order_id = await _crash_after_reserving(harness)
    alice = harness.current_user  # type: ignore[attr-defined]
    assert list(harness.account(alice).reserved) == [order_id]

    trading = await harness.start_trading()
    stored = await trading.store.get_order(order_id)
    assert stored is not None
    assert (stored.status, stored.reservation) == (OrderStatus.PENDING, Reservation.RESERVING)

    await trading.recovery.sweep()  # too fresh: another instance may be working on it
    assert (await harness.get(alice, order_id)).status == trading_pb2.ORDER_STATUS_PENDING

    harness.clock.advance(10)
    await trading.recovery.sweep()
    order = await harness.get(alice, order_id)
    assert order.status == trading_pb2.ORDER_STATUS_FILLED
    assert order.average_fill_price == "100"  # the price it was accepted at
    assert harness.portfolio.reserve_calls == 2  # asked again; one reservation
    assert list(harness.account(alice).reserved) == [order_id]
    trades = await harness.api.ListTrades(trading_pb2.ListTradesRequest(), metadata=alice.auth)
    assert len(trades.trades) == 1
    outbox = [event_type for _, event_type, _ in await harness.outbox()]
    assert outbox.count("trademesh.trading.v1.TradeExecuted") == 1

    # Further sweeps find nothing to do: no double fill.
    harness.clock.advance(10)
    assert await trading.recovery.sweep() == 0


async def test_order_that_cannot_proceed_after_a_crash_is_released(harness: Harness) -> None:
    order_id = await _crash_after_reserving(harness, order_type=trading_pb2.ORDER_TYPE_MARKET)
    alice = harness.current_user  # type: ignore[attr-defined]
    trading = await harness.start_trading()
    harness.clock.advance(3600)  # long past the pending and market-order timeouts
    await trading.recovery.sweep()
    order = await harness.get(alice, order_id)
    assert order.status == trading_pb2.ORDER_STATUS_REJECTED
    assert order.reject_reason == "cash could not be reserved in time"
    account = harness.account(alice)
    assert account.reserved == {}
    assert order_id in account.released
    stored = await trading.store.get_order(order_id)
    assert stored is not None and stored.reservation is Reservation.RELEASED


async def test_limit_order_reserved_before_a_crash_rests_after_restart(harness: Harness) -> None:
    order_id = await _crash_after_reserving(
        harness, order_type=trading_pb2.ORDER_TYPE_LIMIT, limit_price="90", quantity="1"
    )
    alice = harness.current_user  # type: ignore[attr-defined]
    trading = await harness.start_trading()
    harness.clock.advance(10)
    await trading.recovery.sweep()
    assert (await harness.get(alice, order_id)).status == trading_pb2.ORDER_STATUS_OPEN
    assert [o.order_id for o in trading.matcher.resting("AAPL")] == [order_id]
