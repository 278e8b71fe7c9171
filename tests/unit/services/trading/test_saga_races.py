"""The saga when portfolio is slow or away: a cancel racing the reservation, and a
reservation that gets no answer until later."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from trademesh.trading.v1 import trading_pb2

from services.trading.models import OrderStatus, Reservation
from services.trading.upstreams import Cash, UpstreamUnavailable

from .harness import Harness


class Gate:
    """Holds each ReserveCash until the test opens the gate (or fails it while closed)."""

    def __init__(self, inner: Cash, *, unreachable: bool = False) -> None:
        self._inner = inner
        self.unreachable = unreachable
        self.waiting = asyncio.Event()
        self.open = asyncio.Event()

    async def reserve(
        self, *, portfolio_id: str, order_id: str, user_id: str, amount: Decimal, currency: str
    ) -> None:
        if self.unreachable:
            raise UpstreamUnavailable("portfolio: UNAVAILABLE: connection refused")
        self.waiting.set()
        await self.open.wait()
        await self._inner.reserve(
            portfolio_id=portfolio_id,
            order_id=order_id,
            user_id=user_id,
            amount=amount,
            currency=currency,
        )

    async def release(self, *, portfolio_id: str, order_id: str) -> None:
        await self._inner.release(portfolio_id=portfolio_id, order_id=order_id)


async def _gated(harness: Harness, **gate: bool) -> Gate:
    await harness.stop_trading()
    gates: list[Gate] = []

    def wrap(cash: Cash) -> Cash:
        gates.append(Gate(cash, **gate))
        return gates[0]

    await harness.start_trading(wrap_cash=wrap)
    return gates[0]


async def test_cancel_while_the_reservation_is_on_its_way(harness: Harness) -> None:
    gate = await _gated(harness)
    alice = harness.user()
    placing = asyncio.ensure_future(
        harness.place(
            alice,
            client_order_id="racing",
            order_type=trading_pb2.ORDER_TYPE_LIMIT,
            limit_price="90",
        )
    )
    await asyncio.wait_for(gate.waiting.wait(), 10)
    pending = await harness.service.store.find_client_order(alice.user_id, "racing")
    assert pending is not None and pending.status is OrderStatus.PENDING

    cancelled = await harness.api.CancelOrder(
        trading_pb2.CancelOrderRequest(order_id=pending.order_id), metadata=alice.auth
    )
    assert cancelled.order.status == trading_pb2.ORDER_STATUS_CANCELLED
    gate.open.set()  # the reservation arrives after the release: portfolio refuses it
    placed = await asyncio.wait_for(placing, 10)
    assert placed.status == trading_pb2.ORDER_STATUS_CANCELLED
    assert harness.account(alice).reserved == {}
    stored = await harness.service.store.get_order(pending.order_id)
    assert stored is not None and stored.reservation is Reservation.RELEASED


async def test_unanswered_reservation_leaves_the_order_pending_for_the_sweep(
    harness: Harness,
) -> None:
    gate = await _gated(harness, unreachable=True)
    alice = harness.user()
    order = await harness.place(alice, client_order_id="later")
    assert order.status == trading_pb2.ORDER_STATUS_PENDING
    assert harness.account(alice).reserved == {}

    gate.unreachable = False
    gate.open.set()
    harness.clock.advance(10)
    await harness.service.recovery.sweep()
    done = await harness.get(alice, order.order_id)
    assert done.status == trading_pb2.ORDER_STATUS_FILLED
    assert list(harness.account(alice).reserved) == [order.order_id]
