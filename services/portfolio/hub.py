"""WatchPortfolio's fan-out: one feed per watched portfolio in this instance, one
latest-state-wins slot per watcher.

A feed wakes when its portfolio changed (`changed`, called after a local commit and for every
PortfolioUpdated read from portfolio.updates.v1, so changes made by other instances arrive
too), reloads the portfolio from the store and hands the valued state to every watcher. When
quotes of symbols it holds move (`quotes_moved`) it re-values the state it has, at most once
per `revalue_interval_seconds`. A watcher that reads slowly just finds the newest state when it
comes back: nothing queues up behind it and nothing waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection

from trademesh.portfolio.v1 import portfolio_pb2

from mesh.lifecycle import Lifecycle
from services.portfolio import valuation
from services.portfolio.quotes import Price, QuoteBook
from services.portfolio.store import Snapshot

logger = logging.getLogger(__name__)

Load = Callable[[str], Awaitable[Snapshot | None]]
Message = portfolio_pb2.WatchPortfolioResponse
_RETRY_SECONDS = 1.0


class Watcher:
    """One subscriber: holds only the newest state not yet taken."""

    def __init__(self) -> None:
        self._latest: Message | None = None
        self._ended = False
        self._ready = asyncio.Event()

    @property
    def pending(self) -> bool:
        """Whether a state is waiting to be taken."""
        return self._latest is not None

    def offer(self, message: Message) -> None:
        self._latest = message
        self._ready.set()

    def end(self) -> None:
        """The portfolio is gone (deleted) or the hub stopped: `next()` returns None."""
        self._ended = True
        self._ready.set()

    async def next(self) -> Message | None:
        """The newest state since the last call; None once the watch has ended."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            if self._latest is not None:
                latest, self._latest = self._latest, None
                return latest
            if self._ended:
                return None


class _Feed:
    def __init__(self, hub: WatchHub, portfolio_id: str) -> None:
        self.portfolio_id = portfolio_id
        self.watchers: set[Watcher] = set()
        self.symbols: frozenset[str] = frozenset()
        self._hub = hub
        self._snapshot: Snapshot | None = None
        self._last: Message | None = None
        self._valued_at = -float("inf")
        self._state_dirty = True  # load on start
        self._quotes_dirty = False
        self._wake = asyncio.Event()
        self._wake.set()
        self._state_changed = asyncio.Event()
        self.task = asyncio.create_task(self._run(), name=f"watch-{portfolio_id}")

    def add(self, watcher: Watcher) -> None:
        self.watchers.add(watcher)
        if self._last is not None:
            watcher.offer(self._last)

    def mark_state(self) -> None:
        self._state_dirty = True
        self._state_changed.set()
        self._wake.set()

    def mark_quotes(self) -> None:
        self._quotes_dirty = True
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if self._state_dirty:
                self._state_dirty = self._quotes_dirty = False
                self._state_changed.clear()
                self._wake.clear()
                try:
                    snapshot = await self._hub.load(self.portfolio_id)
                except Exception:
                    logger.exception("watch %s: reading the portfolio failed", self.portfolio_id)
                    self._state_dirty = True
                    await asyncio.sleep(_RETRY_SECONDS)
                    self._wake.set()
                    continue
                if snapshot is None or snapshot.portfolio.is_deleted:
                    return  # the hub ends the watches
                self._snapshot = snapshot
                self.symbols = frozenset(p.symbol for p in snapshot.open_positions)
                self._publish()
                continue
            # Only quotes moved: re-value, no more often than the interval.
            wait = self._valued_at + self._hub.revalue_interval_seconds - self._hub.clock()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._state_changed.wait()
                continue
            self._quotes_dirty = False
            self._wake.clear()
            self._publish()

    def _publish(self) -> None:
        assert self._snapshot is not None
        message = valuation.watch_message(self._snapshot, self._hub.book_prices(self.symbols))
        self._valued_at = self._hub.clock()
        if message == self._last:
            return
        self._last = message
        for watcher in self.watchers:
            watcher.offer(message)


class WatchHub(Lifecycle):
    def __init__(
        self,
        load: Load,
        book: QuoteBook,
        *,
        revalue_interval_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.load = load
        self.revalue_interval_seconds = revalue_interval_seconds
        self.clock = clock
        self._book = book
        self._feeds: dict[str, _Feed] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        self._stopped = False
        book.listen(self.quotes_moved)

    def book_prices(self, symbols: Collection[str]) -> dict[str, Price]:
        return self._book.known(symbols)

    @property
    def watched(self) -> int:
        """How many portfolios this instance is feeding."""
        return len(self._feeds)

    def changed(self, portfolio_id: str) -> None:
        feed = self._feeds.get(portfolio_id)
        if feed is not None:
            feed.mark_state()

    def quotes_moved(self, symbols: frozenset[str]) -> None:
        for feed in self._feeds.values():
            if feed.symbols & symbols:
                feed.mark_quotes()

    @contextlib.asynccontextmanager
    async def watch(self, portfolio_id: str) -> AsyncIterator[Watcher]:
        """A watcher of `portfolio_id` for the block; its first state follows at once."""
        if self._stopped:
            raise RuntimeError("the watch hub is stopped")
        feed = self._feeds.get(portfolio_id)
        if feed is None:
            feed = self._feeds[portfolio_id] = _Feed(self, portfolio_id)
            feed.task.add_done_callback(functools.partial(self._ended, feed))
        watcher = Watcher()
        feed.add(watcher)
        try:
            yield watcher
        finally:
            # Synchronous, so a cancelled caller cannot leave its watcher behind.
            feed.watchers.discard(watcher)
            if not feed.watchers and self._feeds.get(portfolio_id) is feed:
                del self._feeds[portfolio_id]
                self._cancel(feed)

    def _ended(self, feed: _Feed, task: asyncio.Task[None]) -> None:
        """A feed that stops by itself (its portfolio was deleted, or a bug) ends its watches."""
        if not task.cancelled() and task.exception() is not None:
            logger.error("watch %s failed", feed.portfolio_id, exc_info=task.exception())
        if self._feeds.get(feed.portfolio_id) is feed:
            del self._feeds[feed.portfolio_id]
        for watcher in feed.watchers:
            watcher.end()

    def _cancel(self, feed: _Feed) -> None:
        feed.task.cancel()
        self._stopping.add(feed.task)
        feed.task.add_done_callback(self._stopping.discard)

    async def stop(self) -> None:
        """End every watch; their streams finish."""
        if self._stopped:
            return
        self._stopped = True
        feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            for watcher in feed.watchers:
                watcher.end()
            self._cancel(feed)
        if self._stopping:
            await asyncio.wait(list(self._stopping))
