"""StreamOrderUpdates: every change of the caller's own orders, nobody else's."""

from __future__ import annotations

import asyncio

from trademesh.trading.v1 import trading_pb2

from .harness import Harness


async def test_stream_sends_own_order_changes_only(harness: Harness) -> None:
    alice, bob = harness.user(), harness.user()
    stream = harness.api.StreamOrderUpdates(
        trading_pb2.StreamOrderUpdatesRequest(), metadata=alice.auth
    )
    seen: list[trading_pb2.Order] = []
    filled = asyncio.Event()

    async def read() -> None:
        async for message in stream:
            seen.append(message.order)
            if message.order.status == trading_pb2.ORDER_STATUS_FILLED:
                filled.set()

    reader = asyncio.ensure_future(read())
    try:
        async with asyncio.timeout(10):
            while harness.service.updates.subscriber_count == 0:
                await asyncio.sleep(0.01)
        theirs = await harness.place(bob)
        mine = await harness.place(alice)
        await asyncio.wait_for(filled.wait(), 10)
    finally:
        stream.cancel()
        await asyncio.wait([reader], timeout=10)
    assert {o.order_id for o in seen} == {mine.order_id}
    assert theirs.order_id not in {o.order_id for o in seen}
    assert seen[-1].status == trading_pb2.ORDER_STATUS_FILLED
    # States arrive in order, never going back.
    statuses = [o.status for o in seen]
    assert statuses == sorted(statuses)
    async with asyncio.timeout(10):
        while harness.service.updates.subscriber_count:
            await asyncio.sleep(0.01)  # the cancelled stream unsubscribed


async def test_stream_filters_by_portfolio(harness: Harness) -> None:
    alice = harness.user()
    other_portfolio = harness.user().portfolio_id
    filtered = harness.api.StreamOrderUpdates(
        trading_pb2.StreamOrderUpdatesRequest(portfolio_id=other_portfolio), metadata=alice.auth
    )
    everything = harness.api.StreamOrderUpdates(
        trading_pb2.StreamOrderUpdatesRequest(), metadata=alice.auth
    )
    got: list[trading_pb2.Order] = []
    filled = asyncio.Event()

    async def read_filtered() -> None:
        async for message in filtered:
            got.append(message.order)

    async def read_everything() -> None:
        async for message in everything:
            if message.order.status == trading_pb2.ORDER_STATUS_FILLED:
                filled.set()

    readers = [asyncio.ensure_future(read_filtered()), asyncio.ensure_future(read_everything())]
    try:
        async with asyncio.timeout(10):
            while harness.service.updates.subscriber_count < 2:
                await asyncio.sleep(0.01)
        await harness.place(alice)
        # Both subscriptions were offered every change at once; one kept them, one did not.
        await asyncio.wait_for(filled.wait(), 10)
    finally:
        filtered.cancel()
        everything.cancel()
        await asyncio.wait(readers, timeout=10)
    assert got == []
