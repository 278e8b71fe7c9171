"""The order update hub: per-user fan-out, latest state per order, bounded backlog."""

from __future__ import annotations

import asyncio

import pytest
from trademesh.trading.v1 import trading_pb2

from mesh.errors import ResourceExhausted
from services.trading import updates
from services.trading.updates import OrderUpdates


def _order(order_id: str, user_id: str, status: int, at_ns: int) -> trading_pb2.Order:
    order = trading_pb2.Order(order_id=order_id, user_id=user_id, status=status)  # type: ignore[arg-type]
    order.update_time.FromNanoseconds(at_ns)
    return order


async def test_a_slow_reader_gets_the_latest_state_of_each_order_in_order() -> None:
    hub = OrderUpdates()
    async with hub.subscribe("alice") as subscription:
        hub.publish(_order("o1", "alice", trading_pb2.ORDER_STATUS_PENDING, 1))
        hub.publish(_order("o2", "alice", trading_pb2.ORDER_STATUS_OPEN, 2))
        hub.publish(_order("o1", "alice", trading_pb2.ORDER_STATUS_FILLED, 3))
        hub.publish(_order("o1", "alice", trading_pb2.ORDER_STATUS_OPEN, 2))  # late, older
        hub.publish(_order("o3", "bob", trading_pb2.ORDER_STATUS_OPEN, 4))  # someone else's
        first = await subscription.next()
        second = await subscription.next()
        assert (first.order_id, second.order_id) == ("o2", "o1")
        assert second.status == trading_pb2.ORDER_STATUS_FILLED
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(subscription.next(), 0.05)
    assert hub.subscriber_count == 0


async def test_a_reader_that_falls_too_far_behind_is_told_to_reconnect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(updates, "MAX_BACKLOG", 3)
    hub = OrderUpdates()
    async with hub.subscribe("alice") as subscription:
        for n in range(5):
            hub.publish(_order(f"o{n}", "alice", trading_pb2.ORDER_STATUS_OPEN, n + 1))
        with pytest.raises(ResourceExhausted):
            await subscription.next()


async def test_two_changes_stamped_alike_both_count() -> None:
    hub = OrderUpdates()
    async with hub.subscribe("alice") as subscription:
        hub.publish(_order("o1", "alice", trading_pb2.ORDER_STATUS_OPEN, 5))
        assert (await subscription.next()).status == trading_pb2.ORDER_STATUS_OPEN
        hub.publish(_order("o1", "alice", trading_pb2.ORDER_STATUS_FILLED, 5))
        hub.publish(_order("o1", "alice", trading_pb2.ORDER_STATUS_FILLED, 5))  # redelivered
        assert (await subscription.next()).status == trading_pb2.ORDER_STATUS_FILLED
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(subscription.next(), 0.05)
