"""Hands new notifications to the streams watching their user, on this instance.

Each watcher has a bounded buffer. A watcher that lets it fill is not allowed to slow the
others or to grow without bound: it is marked as fallen behind and its stream ends, so the
client lists what it missed and reconnects. Subscriptions are context managers whose exit
runs whatever ends the stream (return, error, cancellation).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager

from mesh.errors import ResourceExhausted
from services.notification.models import Notification

# Notification ids a watcher remembers, so a notification read twice from Kafka (a
# redelivery, or the same event published twice) is sent once.
_REMEMBERED = 1024


class FellBehind(ResourceExhausted):
    def __init__(self) -> None:
        super().__init__(
            "the stream fell behind its new notifications; list them and stream again",
            reason="STREAM_FELL_BEHIND",
        )


class Watcher:
    """One stream's view of its user's new notifications."""

    def __init__(self, user_id: str, capacity: int) -> None:
        self.user_id = user_id
        self._capacity = capacity
        self._items: deque[Notification] = deque()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._ready = asyncio.Event()
        self.fell_behind = False

    def offer(self, notification: Notification) -> None:
        if self.fell_behind or notification.notification_id in self._seen:
            return
        self._seen[notification.notification_id] = None
        if len(self._seen) > _REMEMBERED:
            self._seen.popitem(last=False)
        if len(self._items) >= self._capacity:
            self.fell_behind = True
            self._items.clear()
        else:
            self._items.append(notification)
        self._ready.set()

    async def next(self) -> Notification:
        """The next new notification; raises FellBehind once the buffer overflowed."""
        while not self._items:
            if self.fell_behind:
                raise FellBehind()
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    @property
    def pending(self) -> int:
        return len(self._items)


class Hub:
    def __init__(self, *, buffer_size: int = 256, max_watchers_per_user: int = 16) -> None:
        self._buffer_size = buffer_size
        self._max_per_user = max_watchers_per_user
        self._watchers: dict[str, set[Watcher]] = {}

    @contextmanager
    def watch(self, user_id: str) -> Iterator[Watcher]:
        """Receive the user's new notifications for the duration of the block."""
        watchers = self._watchers.setdefault(user_id, set())
        if len(watchers) >= self._max_per_user:
            raise ResourceExhausted(
                f"at most {self._max_per_user} notification streams per user at once",
                reason="TOO_MANY_STREAMS",
            )
        watcher = Watcher(user_id, self._buffer_size)
        watchers.add(watcher)
        try:
            yield watcher
        finally:
            watchers.discard(watcher)
            if not watchers:
                self._watchers.pop(user_id, None)

    def publish(self, notification: Notification) -> None:
        for watcher in tuple(self._watchers.get(notification.user_id, ())):
            watcher.offer(notification)

    def watcher_count(self, user_id: str | None = None) -> int:
        if user_id is not None:
            return len(self._watchers.get(user_id, ()))
        return sum(len(watchers) for watchers in self._watchers.values())
