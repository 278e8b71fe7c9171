"""Order changes fanned out to the StreamOrderUpdates of their user, in this process.

With several trading instances a user's stream may live on another instance than the one
that changed the order, so in production the hub is fed from `trading.orders.v1` by a
broadcast consumer (no group, nothing committed, starting at the latest offset: a stream
promises changes from now on, not history) — every instance hears every change, after the
outbox relay published it. A single instance without Kafka can feed it from its own saga
instead ("local"). Each subscriber keeps the latest version of each changed order until it
reads it, so a slow stream never blocks the feed or other streams and never sees an order
go backwards.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from trademesh.trading.v1 import events_pb2, trading_pb2

from mesh.errors import ResourceExhausted
from mesh.events import ORDERS, Consumer, Delivery, EventsConfig
from mesh.lifecycle import Lifecycle

log = logging.getLogger(__name__)

MAX_BACKLOG = 10_000  # distinct orders waiting for one slow subscriber


def _stamp(order: trading_pb2.Order) -> int:
    return order.update_time.ToNanoseconds()


class Subscription:
    def __init__(self, user_id: str, portfolio_id: str | None) -> None:
        self.user_id = user_id
        self.portfolio_id = portfolio_id
        self._pending: OrderedDict[str, trading_pb2.Order] = OrderedDict()
        self._seen: dict[str, tuple[int, int]] = {}
        self._ready = asyncio.Event()
        self.overflowed = False

    def offer(self, order: trading_pb2.Order) -> None:
        if order.user_id != self.user_id:
            return
        if self.portfolio_id and order.portfolio_id != self.portfolio_id:
            return
        seen = (_stamp(order), order.status)
        if seen <= self._seen.get(order.order_id, (-1, 0)):
            return  # a duplicate, or an older state of an order already offered
        self._seen[order.order_id] = seen
        self._pending[order.order_id] = order
        self._pending.move_to_end(order.order_id)
        if len(self._pending) > MAX_BACKLOG:
            self.overflowed = True
        self._ready.set()

    async def next(self) -> trading_pb2.Order:
        while not self._pending:
            self._ready.clear()
            await self._ready.wait()
        if self.overflowed:
            raise ResourceExhausted(
                "the order update stream fell too far behind; reconnect",
                reason="STREAM_OVERFLOW",
            )
        _, order = self._pending.popitem(last=False)
        return order

    async def __aiter__(self) -> AsyncIterator[trading_pb2.Order]:
        while True:
            yield await self.next()


class OrderUpdates:
    """The in-process hub: `publish` from the feed, `subscribe` from each stream."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}

    def publish(self, order: trading_pb2.Order) -> None:
        for subscription in tuple(self._subscribers.get(order.user_id, ())):
            subscription.offer(order)

    @asynccontextmanager
    async def subscribe(
        self, user_id: str, portfolio_id: str | None = None
    ) -> AsyncIterator[Subscription]:
        subscription = Subscription(user_id, portfolio_id)
        self._subscribers.setdefault(user_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscribers.get(user_id)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[user_id]

    @property
    def subscriber_count(self) -> int:
        return sum(len(subs) for subs in self._subscribers.values())


class KafkaOrderFeed(Lifecycle):
    """Feeds the hub from trading.orders.v1 (broadcast, from the latest offset)."""

    def __init__(self, config: EventsConfig, hub: OrderUpdates) -> None:
        self._hub = hub
        self._consumer = Consumer(config, None, [ORDERS], self._apply, auto_offset_reset="latest")

    async def _apply(self, delivery: Delivery) -> None:
        if isinstance(delivery.event, events_pb2.OrderUpdated):
            self._hub.publish(delivery.event.order)

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()
