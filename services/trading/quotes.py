"""The latest price of each symbol as the quote feed reports it, and the feed itself.

Resting limit orders watch the compacted `marketdata.quotes.v1` topic rather than
StreamQuotes: the watcher runs outside any user's call, and StreamQuotes admits only callers
with a user token; one broadcast consumer covers whatever symbols have resting orders without
re-subscribing as that set changes; the compacted topic hands a starting instance the latest
quote of every symbol at once (recovery has prices to fill at); and every trading instance
reads every quote (no consumer group splits them), so any instance can fill any order — the
fill's compare-and-set in the store keeps two instances from filling it twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from trademesh.marketdata.v1 import events_pb2 as marketdata_events

from mesh.events import QUOTES, Consumer, Delivery, EventsConfig
from mesh.lifecycle import Lifecycle
from services.trading.upstreams import Price, price_from_quote

log = logging.getLogger(__name__)

PriceSink = Callable[[Price], Awaitable[None]]


class QuoteBook:
    """The newest price heard per symbol; older quotes arriving late are ignored."""

    def __init__(self, *, now: Callable[[], float] = time.time) -> None:
        self._prices: dict[str, Price] = {}
        self._now = now

    def update(self, price: Price) -> bool:
        """Keep `price` if it is newer than what is known; whether it was kept."""
        known = self._prices.get(price.symbol)
        if known is not None and price.observed_at < known.observed_at:
            return False
        self._prices[price.symbol] = price
        return True

    def latest(self, symbol: str, *, max_age_seconds: float | None = None) -> Price | None:
        price = self._prices.get(symbol)
        if price is None:
            return None
        if max_age_seconds is not None and self._now() - price.observed_at > max_age_seconds:
            return None
        return price


class KafkaQuoteFeed(Lifecycle):
    """Every QuoteUpdated of `marketdata.quotes.v1` into the book and then to `sink`."""

    def __init__(self, config: EventsConfig, book: QuoteBook, sink: PriceSink) -> None:
        self._book = book
        self._sink = sink
        # Broadcast (no group, nothing committed), from the start of the compacted topic.
        self._consumer = Consumer(config, None, [QUOTES], self._apply, auto_offset_reset="earliest")
        self._heard = False

    async def _apply(self, delivery: Delivery) -> None:
        event = delivery.event
        if not isinstance(event, marketdata_events.QuoteUpdated):
            return
        try:
            price = price_from_quote(event.quote)
        except ValueError as exc:
            log.warning("ignoring unusable quote: %s", exc)
            return
        if not self._heard:
            self._heard = True
            log.info("quote feed: first quote heard (%s)", price.symbol)
        if self._book.update(price):
            await self._sink(price)

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()
