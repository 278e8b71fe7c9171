"""The per-instance hub: bounded buffers per watcher, duplicates sent once, subscriptions that
end with their stream however it ends."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from mesh.errors import ResourceExhausted
from services.notification import FellBehind, Hub, Notification, render

from . import events

USER = str(uuid.uuid4())


def made(**kwargs: str) -> Notification:
    notification = render(events.trade(USER, **kwargs))
    assert notification is not None
    return notification


async def test_a_slow_watcher_falls_behind_while_a_fast_one_gets_everything() -> None:
    hub = Hub(buffer_size=3)
    with hub.watch(USER) as slow, hub.watch(USER) as fast:
        got = []
        for i in range(10):
            hub.publish(made(quantity=str(i)))
            got.append((await fast.next()).title)
        assert got == [f"Bought {i} AAPL at 189.20" for i in range(10)]
        assert slow.fell_behind and slow.pending == 0
        with pytest.raises(FellBehind):
            await slow.next()
        assert isinstance(FellBehind(), ResourceExhausted)


async def test_the_buffer_holds_up_to_its_size_in_order() -> None:
    hub = Hub(buffer_size=3)
    with hub.watch(USER) as watcher:
        for i in range(3):
            hub.publish(made(quantity=str(i)))
        assert watcher.pending == 3 and not watcher.fell_behind
        assert [(await watcher.next()).title[7] for _ in range(3)] == ["0", "1", "2"]


async def test_the_same_notification_is_offered_once() -> None:
    hub = Hub()
    one = made()
    with hub.watch(USER) as watcher:
        hub.publish(one)
        hub.publish(one)
        assert watcher.pending == 1


async def test_other_users_notifications_never_reach_a_watcher() -> None:
    hub = Hub()
    with hub.watch(str(uuid.uuid4())) as watcher:
        hub.publish(made())
        assert watcher.pending == 0


async def test_a_cancelled_stream_unsubscribes() -> None:
    hub = Hub()
    started = asyncio.Event()

    async def stream() -> None:
        with hub.watch(USER) as watcher:
            started.set()
            await watcher.next()

    task = asyncio.create_task(stream())
    await started.wait()
    assert hub.watcher_count(USER) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert hub.watcher_count() == 0
    hub.publish(made())  # nobody left to hand it to; nothing raises


async def test_streams_per_user_are_capped() -> None:
    hub = Hub(max_watchers_per_user=2)
    with hub.watch(USER), hub.watch(USER):
        with pytest.raises(ResourceExhausted) as raised, hub.watch(USER):
            pass
        assert raised.value.reason == "TOO_MANY_STREAMS"
        with hub.watch(str(uuid.uuid4())):  # another user is not affected
            pass
    with hub.watch(USER):
        assert hub.watcher_count(USER) == 1
