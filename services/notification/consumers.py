"""The events the feed is built from, read twice by every instance.

- The feed writer, in the `notification` consumer group: instances split the partitions; each
  event is rendered and stored with `mark_processed` in one transaction, so a redelivered
  event never makes a second notification. Undecodable or unrenderable records end in the
  topic's DLQ (the consumer's doing).
- The fan-out reader, with no group: every instance reads every partition from the latest
  offset and commits nothing, renders the same notification (same id, same text, same time)
  and hands it to this instance's watchers. So a stream sees the notifications of its user
  whichever instance stored them. For a watched user it first waits (briefly, off the read
  loop) until the notification is stored, so what a stream sends can be listed and marked
  read at once; a writer lagging longer than that does not hold the stream back.
"""

from __future__ import annotations

import asyncio
import logging

from mesh.events import ORDERS, PORTFOLIO_UPDATES, SESSIONS, TRADES, Delivery
from mesh.lifecycle import Lifecycle
from services.notification.hub import Hub
from services.notification.models import Notification
from services.notification.render import BadEvent, render
from services.notification.store import NotificationStore

logger = logging.getLogger(__name__)

CONSUMER = "notification"
SOURCE_TOPICS = (TRADES, ORDERS, PORTFOLIO_UPDATES, SESSIONS)


class FeedWriter:
    """The consumer group's handler: one event applied once into the feed."""

    def __init__(self, store: NotificationStore) -> None:
        self._store = store

    async def __call__(self, delivery: Delivery) -> None:
        notification = render(delivery.event)  # BadEvent/TypeError: retried, then DLQ
        applied = await self._store.apply(CONSUMER, delivery.event_id, notification)
        if not applied:
            logger.info("event %s was applied before; skipped", delivery.event_id)


class FanOut(Lifecycle):
    """The broadcast reader's handler: this instance's watchers see the new notification.

    As a worker it runs ahead of its consumer, so `stop()` (after the consumer stopped)
    cancels the hand-overs still waiting for the store.
    """

    def __init__(
        self,
        hub: Hub,
        store: NotificationStore,
        *,
        store_wait_seconds: float = 5.0,
        poll_seconds: float = 0.05,
    ) -> None:
        self._hub = hub
        self._store = store
        self._wait = store_wait_seconds
        self._poll = poll_seconds
        self._pending: set[asyncio.Task[None]] = set()
        self._tails: dict[str, asyncio.Task[None]] = {}

    async def __call__(self, delivery: Delivery) -> None:
        try:
            notification = render(delivery.event)
        except (BadEvent, TypeError) as exc:
            # The feed writer dead-letters the record; here it is only skipped.
            logger.debug("not streaming %s: %s", delivery.event_id, exc)
            return
        if notification is None or not self._hub.watcher_count(notification.user_id):
            return
        # Hand-overs wait concurrently but publish in record order per user.
        user_id = notification.user_id
        task = asyncio.create_task(self._hand_over(notification, self._tails.get(user_id)))
        self._tails[user_id] = task
        self._pending.add(task)
        task.add_done_callback(lambda done: self._forget(user_id, done))

    def _forget(self, user_id: str, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if self._tails.get(user_id) is task:
            del self._tails[user_id]

    async def _hand_over(
        self, notification: Notification, previous: asyncio.Task[None] | None
    ) -> None:
        ready = await self._stored_or_late(notification)
        if previous is not None:
            await asyncio.wait([previous])
        self._hub.publish(ready)

    async def _stored_or_late(self, notification: Notification) -> Notification:
        """The stored notification, or the rendered one once the wait is over."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        while True:
            try:
                stored = await self._store.get(notification.notification_id)
            except Exception:
                logger.warning("reading notification %s failed", notification.notification_id)
                stored = None
            if stored is not None:
                return stored
            if loop.time() >= deadline:
                return notification
            await asyncio.sleep(self._poll)

    async def stop(self) -> None:
        pending, self._pending = self._pending, set()
        self._tails.clear()
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    @property
    def pending(self) -> int:
        return len(self._pending)
