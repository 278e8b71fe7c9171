"""The quote board: runs one provider, keeps the latest quote per symbol, fans quotes out.

Every subscriber and listener shares the one feed. Delivery never waits for anyone: the
provider's sink only updates dictionaries and sets events, so a subscriber that stops
reading holds at most one pending quote per symbol it follows (the latest wins) and slows
nobody else down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Self

from mesh.errors import ResourceExhausted, Unavailable
from mesh.lifecycle import Lifecycle
from services.marketdata.instruments import unknown_symbols
from services.marketdata.quotes import Quote, QuoteProvider, QuoteSink

log = logging.getLogger(__name__)


class Subscription:
    """The quotes of some symbols for one reader: the current ones first, then every update.

    At most one quote per symbol waits here; a newer one replaces it (counted in `replaced`).
    Use it as a context manager so it leaves the board however the reader ends.
    """

    def __init__(self, board: QuoteBoard, symbols: Sequence[str], current: Iterable[Quote]) -> None:
        self._board = board
        self.symbols = frozenset(symbols)
        self._pending: dict[str, Quote] = {quote.symbol: quote for quote in current}
        self._ready = asyncio.Event()
        if self._pending:
            self._ready.set()
        self._closed = False
        self.replaced = 0

    def offer(self, quote: Quote) -> None:
        if quote.symbol in self._pending:
            self.replaced += 1
            self._board.replaced += 1
        self._pending[quote.symbol] = quote
        self._ready.set()

    async def next_batch(self) -> list[Quote]:
        """The quotes waiting since the last call, waiting for one if there are none.

        Raises Unavailable once the board has stopped.
        """
        while not self._pending:
            if self._closed:
                raise Unavailable("the quote feed has stopped", reason="FEED_STOPPED")
            self._ready.clear()
            await self._ready.wait()
        batch = list(self._pending.values())
        self._pending.clear()
        return batch

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Leave the board; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._board._remove(self)
        self._ready.set()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class QuoteBoard(Lifecycle):
    """Runs `provider` and shares its quotes with subscribers and listeners.

    `listeners` (for example the Kafka publisher) get every batch, as a `QuoteSink`.
    A provider that fails is logged and run again after `restart_delay_seconds`.
    """

    def __init__(
        self,
        provider: QuoteProvider,
        *,
        max_subscribers: int = 10_000,
        listeners: Sequence[QuoteSink] = (),
        restart_delay_seconds: float = 1.0,
    ) -> None:
        self._provider = provider
        self._known = frozenset(provider.symbols)
        self._max_subscribers = max_subscribers
        self._listeners = list(listeners)
        self._restart_delay = restart_delay_seconds
        self._latest: dict[str, Quote] = {}
        self._by_symbol: dict[str, set[Subscription]] = {}
        self._subscriptions: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        # Batches taken from the provider, and quotes a newer one replaced in a
        # subscription before its reader took them.
        self.batches = 0
        self.replaced = 0

    async def start(self) -> None:
        if self._task is not None or self._stopped:
            return
        self._latest = {
            quote.symbol: quote
            for quote in self._provider.snapshot()
            if quote.symbol in self._known
        }
        self._task = asyncio.create_task(self._run(), name="quote-feed")

    async def stop(self) -> None:
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for subscription in list(self._subscriptions):
            subscription.close()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def add_listener(self, listener: QuoteSink) -> None:
        self._listeners.append(listener)

    def _check_known(self, symbols: Sequence[str]) -> None:
        unknown = [symbol for symbol in symbols if symbol not in self._known]
        if unknown:
            raise unknown_symbols(unknown)

    def latest(self, symbols: Sequence[str]) -> list[Quote]:
        """The current quote of each symbol, in order. NOT_FOUND names the symbols the
        provider does not serve, UNAVAILABLE those it has not quoted yet."""
        self._check_known(symbols)
        waiting = [symbol for symbol in symbols if symbol not in self._latest]
        if waiting:
            raise Unavailable(
                f"no quote yet for {', '.join(waiting)}",
                reason="QUOTE_UNAVAILABLE",
                metadata={"symbols": ",".join(waiting)},
            )
        return [self._latest[symbol] for symbol in symbols]

    def subscribe(self, symbols: Sequence[str]) -> Subscription:
        """A subscription primed with the current quotes of `symbols` (those not quoted yet
        follow with their first quote)."""
        if self._stopped:
            raise Unavailable("the quote feed has stopped", reason="FEED_STOPPED")
        if len(self._subscriptions) >= self._max_subscribers:
            raise ResourceExhausted(
                f"this instance already serves {self._max_subscribers} quote streams",
                reason="TOO_MANY_SUBSCRIBERS",
            )
        self._check_known(symbols)
        current = [self._latest[symbol] for symbol in symbols if symbol in self._latest]
        subscription = Subscription(self, symbols, current)
        self._subscriptions.add(subscription)
        for symbol in subscription.symbols:
            self._by_symbol.setdefault(symbol, set()).add(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
        for symbol in subscription.symbols:
            followers = self._by_symbol.get(symbol)
            if followers is not None:
                followers.discard(subscription)
                if not followers:
                    del self._by_symbol[symbol]

    def _apply(self, quotes: Sequence[Quote]) -> None:
        self.batches += 1
        for quote in quotes:
            if quote.symbol not in self._known:
                continue  # a provider's stray symbol is nobody's business
            self._latest[quote.symbol] = quote
            for subscription in self._by_symbol.get(quote.symbol, ()):
                subscription.offer(quote)
        for listener in self._listeners:
            try:
                listener(quotes)
            except Exception:
                log.exception("a quote listener failed; the feed goes on")

    async def _run(self) -> None:
        while True:
            try:
                await self._provider.run(self._apply)
                log.warning("the quote provider returned; running it again")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the quote provider failed; running it again")
            await asyncio.sleep(self._restart_delay)
