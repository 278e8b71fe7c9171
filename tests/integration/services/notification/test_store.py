"""The feed store on SQLite and PostgreSQL: events applied once, paging, marking read, and
transactions that come out whole when callers are cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid

import pytest

from services.notification import Notification, NotificationStore, NotYours, render
from services.notification.consumers import CONSUMER
from services.notification.paging import Cursor
from tests.unit.services.notification import events

from .conftest import OpenStore


def made(user_id: str, **kwargs: object) -> Notification:
    notification = render(events.trade(user_id, **kwargs))  # type: ignore[arg-type]
    assert notification is not None
    return notification


async def apply(store: NotificationStore, notification: Notification) -> bool:
    return await store.apply(CONSUMER, notification.event_id, notification)


async def count(store: NotificationStore, table: str) -> int:
    async with store.db.transaction() as tx:
        row = await tx.fetchone(f"SELECT COUNT(*) FROM {table}")
    assert row is not None
    return int(row[0])


async def test_migrating_again_applies_nothing(store: NotificationStore) -> None:
    assert await store.migrate() == ()


async def test_instances_migrating_together_apply_each_migration_once(
    open_store: OpenStore,
) -> None:
    stores = [open_store() for _ in range(3)]
    try:
        applied = await asyncio.gather(*(s.migrate() for s in stores))
        assert sorted(v for versions in applied for v in versions) == [1, 2]
    finally:
        for s in stores:
            await s.close()


async def test_the_same_event_twice_makes_one_notification(store: NotificationStore) -> None:
    user = str(uuid.uuid4())
    one = made(user)
    assert await apply(store, one) is True
    assert await apply(store, one) is False
    listing = await store.list(user, limit=10, unread_only=False, after=None)
    assert [n.notification_id for n in listing.notifications] == [one.notification_id]
    assert await store.get(one.notification_id) == one


async def test_an_event_that_makes_no_notification_is_still_recorded(
    store: NotificationStore,
) -> None:
    event_id = str(uuid.uuid4())
    assert await store.apply(CONSUMER, event_id, None) is True
    assert await store.apply(CONSUMER, event_id, None) is False
    assert await count(store, "notifications") == 0


async def test_two_instances_applying_one_event_at_once_store_it_once(
    store: NotificationStore, open_store: OpenStore
) -> None:
    others = [open_store() for _ in range(3)]
    user = str(uuid.uuid4())
    try:
        batch = [made(user) for _ in range(10)]
        results = await asyncio.gather(*(apply(s, n) for n in batch for s in (store, *others)))
        assert sum(results) == len(batch)
        assert await count(store, "notifications") == len(batch)
    finally:
        for other in others:
            await other.close()


async def test_pages_by_time_then_id_with_the_unread_filter(store: NotificationStore) -> None:
    user, other = str(uuid.uuid4()), str(uuid.uuid4())
    base = 1_790_000_000.0
    mine = [made(user, at=base + i // 3) for i in range(9)]
    for notification in [*mine, made(other, at=base)]:
        await apply(store, notification)
    expected = sorted(mine, key=lambda n: (n.created_us, n.notification_id), reverse=True)

    seen: list[Notification] = []
    after: Cursor | None = None
    while True:
        listing = await store.list(user, limit=4, unread_only=False, after=after)
        seen += listing.notifications
        assert listing.unread_count == 9
        if not listing.has_more:
            break
        last = listing.notifications[-1]
        after = Cursor(last.created_us, last.notification_id, False)
    assert [n.notification_id for n in seen] == [n.notification_id for n in expected]

    read = [expected[0].notification_id, expected[4].notification_id]
    assert await store.mark_read(user, read, now_us=1) == 2
    unread = await store.list(user, limit=100, unread_only=True, after=None)
    assert unread.unread_count == 7
    assert {n.notification_id for n in unread.notifications} == {
        n.notification_id for n in expected
    } - set(read)
    assert (await store.get(read[0])) is not None
    assert (await store.get(read[0])).read_us == 1  # type: ignore[union-attr]


async def test_marking_ids_that_are_not_yours_changes_nothing(store: NotificationStore) -> None:
    ada, eve = str(uuid.uuid4()), str(uuid.uuid4())
    own, foreign = made(ada), made(eve)
    await apply(store, own)
    await apply(store, foreign)
    with pytest.raises(NotYours) as raised:
        await store.mark_read(ada, [own.notification_id, foreign.notification_id], now_us=5)
    assert raised.value.ids == (foreign.notification_id,)
    for user in (ada, eve):
        assert (await store.list(user, limit=5, unread_only=True, after=None)).unread_count == 1
    assert await store.mark_all_read(ada, now_us=6) == 1
    assert await store.mark_all_read(ada, now_us=7) == 0
    assert (await store.list(eve, limit=5, unread_only=True, after=None)).unread_count == 1


async def test_cancelled_callers_leave_whole_transactions_and_a_usable_store(
    store: NotificationStore, open_store: OpenStore
) -> None:
    user = str(uuid.uuid4())
    rng = random.Random(6)

    async def work(i: int) -> None:
        if i % 3 == 0:
            await store.list(user, limit=20, unread_only=False, after=None)
        elif i % 3 == 1:
            await apply(store, made(user))
        else:
            await store.mark_all_read(user, now_us=i)

    for _round in range(5):
        tasks = [asyncio.create_task(work(i)) for i in range(200)]
        await asyncio.sleep(rng.uniform(0, 0.02))
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # Each applied event committed with its notification, or neither did.
    async with store.db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT COUNT(*) FROM processed_events WHERE consumer = ?", (CONSUMER,)
        )
    assert row is not None
    assert int(row[0]) == await count(store, "notifications")

    async with asyncio.timeout(20):
        last = made(user)
        assert await apply(store, last) is True
        listing = await store.list(user, limit=1, unread_only=True, after=None)
        assert listing.notifications[0].notification_id == last.notification_id
        other = open_store()
        try:
            assert await apply(other, made(user)) is True
            assert await other.mark_all_read(user, now_us=10**15) >= 2
        finally:
            await other.close()
