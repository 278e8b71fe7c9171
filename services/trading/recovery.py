"""The recovery sweep: at start-up and then periodically, every order left between two saga
steps is resumed or compensated, day orders past their end expire, owed releases are paid,
and the matcher's index is brought in line with the store."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from services.trading.matcher import Matcher
from services.trading.models import OrderStatus, OrderType, TimeInForce
from services.trading.saga import OrderSaga
from services.trading.store import TradingStore

log = logging.getLogger(__name__)


class Recovery:
    def __init__(
        self,
        store: TradingStore,
        saga: OrderSaga,
        matcher: Matcher,
        *,
        stale_after_seconds: float,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._saga = saga
        self._matcher = matcher
        self._stale_after = stale_after_seconds
        self._now = now

    async def sweep(self) -> int:
        """One pass; returns how many orders it acted on. An order that changed within
        `stale_after_seconds` is left alone: some instance may be in the middle of it."""
        now = self._now()
        acted = 0
        for order in await self._store.owed_releases():
            await self._saga.release(order)
            acted += 1
        for order in await self._store.working_orders():
            resting = order.order_type is OrderType.LIMIT and order.status is OrderStatus.OPEN
            expired = order.expires_at is not None and now >= order.expires_at
            fresh = now - order.updated_at < self._stale_after
            if fresh or (resting and not expired and order.time_in_force is not TimeInForce.IOC):
                continue
            try:
                await self._saga.resume(order)
            except Exception:
                log.exception(
                    "resuming order %s failed; the next sweep tries again", order.order_id
                )
            acted += 1
        await self._matcher.sync()
        return acted
