"""The two readers of each instance: the feed writer stores each event once; the fan-out
reader hands watched users' notifications to the hub once they are stored."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.notification import Notification, Notifications, NotificationStore
from services.notification.consumers import FanOut, FeedWriter
from tests.conftest import eventually

from . import events
from .conftest import delivery

USER = str(uuid.uuid4())


class CountingStore(NotificationStore):
    """The real store, counting reads by id so a test knows the hand-over has looked."""

    def __init__(self, store: NotificationStore) -> None:
        super().__init__(store.db)
        self.gets = 0

    async def get(self, notification_id: str) -> Notification | None:
        self.gets += 1
        return await super().get(notification_id)


async def test_the_feed_writer_stores_each_event_once(app: Notifications) -> None:
    writer = FeedWriter(app.store)
    event = events.trade(USER)
    await writer(delivery(event))
    await writer(delivery(event, offset=1))
    listing = await app.store.list(USER, limit=10, unread_only=False, after=None)
    assert [n.event_id for n in listing.notifications] == [event.event_id]


async def test_an_event_without_a_user_fails_so_it_is_retried_then_dead_lettered(
    app: Notifications,
) -> None:
    event = events.trade(USER)
    event.trade.user_id = ""
    with pytest.raises(ValueError, match="without user id"):
        await FeedWriter(app.store)(delivery(event))
    # The fan-out reader only skips it: the writer's failure is the one that counts.
    await FanOut(app.hub, app.store)(delivery(event))


async def test_nobody_watching_means_no_hand_over(app: Notifications) -> None:
    store = CountingStore(app.store)
    fan_out = FanOut(app.hub, store)
    await fan_out(delivery(events.trade(USER)))
    assert fan_out.pending == 0 and store.gets == 0


async def test_a_watched_notification_is_handed_over_once_stored(app: Notifications) -> None:
    store = CountingStore(app.store)
    fan_out = FanOut(app.hub, store, store_wait_seconds=60, poll_seconds=0.01)
    event = events.trade(USER)
    with app.hub.watch(USER) as watcher:
        await fan_out(delivery(event))

        async def looked_twice() -> bool:
            return store.gets >= 2

        await eventually(looked_twice, timeout=10, interval=0.01, what="the store polled")
        assert watcher.pending == 0  # not stored yet: not streamed yet
        await FeedWriter(app.store)(delivery(event))
        got = await asyncio.wait_for(watcher.next(), 10)
        assert got == await app.store.get(got.notification_id)
    await fan_out.stop()


async def test_a_lagging_writer_does_not_hold_the_stream_back(app: Notifications) -> None:
    fan_out = FanOut(app.hub, app.store, store_wait_seconds=0.1, poll_seconds=0.01)
    event = events.trade(USER)
    with app.hub.watch(USER) as watcher:
        await fan_out(delivery(event))
        got = await asyncio.wait_for(watcher.next(), 10)
    assert got.event_id == event.event_id
    assert await app.store.get(got.notification_id) is None


async def test_stop_cancels_the_hand_overs_still_waiting(app: Notifications) -> None:
    fan_out = FanOut(app.hub, app.store, store_wait_seconds=60, poll_seconds=0.01)
    with app.hub.watch(USER) as watcher:
        await fan_out(delivery(events.trade(USER)))
        assert fan_out.pending == 1
        await fan_out.stop()
        assert fan_out.pending == 0 and watcher.pending == 0
        await fan_out.stop()


async def test_hand_overs_keep_the_record_order_of_a_user(app: Notifications) -> None:
    fan_out = FanOut(app.hub, app.store, store_wait_seconds=60, poll_seconds=0.01)
    sent = [events.trade(USER, quantity=str(i + 1)) for i in range(5)]
    with app.hub.watch(USER) as watcher:
        for event in sent:
            await fan_out(delivery(event))
        # Stored newest first: the later ones are ready before the earlier ones.
        for event in reversed(sent):
            await FeedWriter(app.store)(delivery(event))
        got = [await asyncio.wait_for(watcher.next(), 10) for _ in sent]
    assert [n.event_id for n in got] == [e.event_id for e in sent]
    await fan_out.stop()
