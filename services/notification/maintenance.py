"""Periodic upkeep of the feed's database: old notifications and forgotten event ids.

Every instance runs it; deleting is idempotent, so instances overlapping do no harm.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from mesh.events import prune_processed
from mesh.lifecycle import Lifecycle
from services.notification.store import NotificationStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Pruned:
    notifications: int
    processed_events: int


class Maintenance(Lifecycle):
    def __init__(
        self,
        store: NotificationStore,
        *,
        interval_seconds: float,
        notification_retention_seconds: float,
        processed_retention_seconds: float,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._interval = interval_seconds
        self._retention = notification_retention_seconds
        self._processed_retention = processed_retention_seconds
        self._now = now
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> Pruned:
        cutoff_us = round((self._now() - self._retention) * 1_000_000)
        async with self._store.db.transaction(write=True) as tx:
            processed = await prune_processed(tx, self._processed_retention)
        notifications = await self._store.prune(older_than_us=cutoff_us)
        return Pruned(notifications, processed)

    async def _loop(self) -> None:
        while True:
            # Jitter keeps instances started together from pruning in step.
            await asyncio.sleep(self._interval * random.uniform(0.8, 1.2))
            try:
                pruned = await self.run_once()
            except Exception:
                logger.exception("notification maintenance failed; trying again later")
                continue
            if pruned.notifications or pruned.processed_events:
                logger.info(
                    "pruned %d notifications and %d processed event ids",
                    pruned.notifications,
                    pruned.processed_events,
                )

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="notification-maintenance")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
