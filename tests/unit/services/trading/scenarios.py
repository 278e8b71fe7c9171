"""Two trading instances on one store: both see the resting orders and both hear the quote that
crosses them; each executes once."""

from __future__ import annotations

import asyncio

from trademesh.trading.v1 import trading_pb2

from services.trading import build_trading
from services.trading.upstreams import price_from_quote

from .harness import Harness


async def two_instances_fill_once(harness: Harness) -> None:
    other = await build_trading(harness.config(), harness.upstreams(), now=harness.clock)
    await other.start()
    try:
        alice = harness.user()
        orders = [
            await harness.place(
                alice,
                order_type=trading_pb2.ORDER_TYPE_LIMIT,
                limit_price="95",
                quantity="1",
                time_in_force=trading_pb2.TIME_IN_FORCE_GTC,
            )
            for _ in range(5)
        ]
        await other.matcher.sync()  # the other instance learns of them from the store
        assert len(other.matcher.resting("AAPL")) == 5

        price = price_from_quote(harness.market.set_quote("AAPL", "94.50", "94.60"))
        await asyncio.gather(harness.service.matcher.on_quote(price), other.matcher.on_quote(price))
        for order in orders:
            assert (await harness.get(alice, order.order_id)).status == (
                trading_pb2.ORDER_STATUS_FILLED
            )
        trades = await harness.api.ListTrades(trading_pb2.ListTradesRequest(), metadata=alice.auth)
        assert sorted(t.order_id for t in trades.trades) == sorted(o.order_id for o in orders)
        kinds = [kind for _, kind, _ in await harness.outbox()]
        assert kinds.count("trademesh.trading.v1.TradeExecuted") == 5
    finally:
        await other.stop()
