"""The events the feed is built from, read twice by every instance.

- The feed writer, in the `notification` consumer group: instances split the partitions; each
  event is rendered and stored with `mark_processed` in one transaction, so a redelivered
  event never makes a second notification. Undecodable or unrenderable records end in the
  topic's DLQ (the consumer's doing).
- The fan-out reader, with no group: every instance reads every partition from the latest
  offset and commits nothing, renders the same notification (same id, same text, same time)
  and hands it to this instance's watchers. So a stream sees the notifications of its user
  whichever instance stored them.
"""

from __future__ import annotations

import logging

from mesh.events import ORDERS, PORTFOLIO_UPDATES, SESSIONS, TRADES, Delivery
from services.notification.hub import Hub
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


class FanOut:
    """The broadcast reader's handler: this instance's watchers see the new notification."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def __call__(self, delivery: Delivery) -> None:
        try:
            notification = render(delivery.event)
        except (BadEvent, TypeError) as exc:
            # The feed writer dead-letters the record; here it is only skipped.
            logger.debug("not streaming %s: %s", delivery.event_id, exc)
            return
        if notification is not None:
            self._hub.publish(notification)
