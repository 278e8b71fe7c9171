"""Periodic upkeep: notifications past their retention and old processed event ids go."""

from __future__ import annotations

import time
import uuid

from services.notification import Notifications
from services.notification.consumers import CONSUMER
from services.notification.maintenance import Maintenance

from . import events
from .conftest import deliver

DAY = 86400.0


async def test_old_notifications_and_event_ids_are_pruned_recent_ones_kept(
    app: Notifications,
) -> None:
    user = str(uuid.uuid4())
    now = time.time()
    old, recent = events.trade(user, at=now - 40 * DAY), events.trade(user, at=now - 1 * DAY)
    await deliver(app, old, recent)
    async with app.store.db.transaction(write=True) as tx:
        # As if the old event had been applied long ago.
        await tx.execute(
            "UPDATE processed_events SET processed_at = ? WHERE event_id = ?",
            (now - 40 * DAY, old.event_id),
        )
    upkeep = Maintenance(
        app.store,
        interval_seconds=3600,
        notification_retention_seconds=30 * DAY,
        processed_retention_seconds=8 * DAY,
        now=lambda: now,
    )
    pruned = await upkeep.run_once()
    assert (pruned.notifications, pruned.processed_events) == (1, 1)
    listing = await app.store.list(user, limit=10, unread_only=False, after=None)
    assert [n.event_id for n in listing.notifications] == [recent.event_id]
    # The recent event is still remembered: its redelivery changes nothing.
    assert await app.store.apply(CONSUMER, recent.event_id, None) is False
    assert await upkeep.run_once() == type(pruned)(0, 0)


async def test_start_and_stop_are_safe_twice(app: Notifications) -> None:
    upkeep = Maintenance(
        app.store,
        interval_seconds=3600,
        notification_retention_seconds=DAY,
        processed_retention_seconds=DAY,
    )
    async with upkeep:
        await upkeep.start()
    await upkeep.stop()
