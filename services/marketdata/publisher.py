"""QuoteUpdated onto `marketdata.quotes.v1`, keyed by symbol, without ever holding up the feed.

The feed hands quotes over synchronously; they wait here at most one per symbol (a newer
quote replaces an unsent one) while a background task publishes them. With Kafka down the
task retries with backoff and the backlog stays one quote per symbol: the topic is compacted
and its readers want the latest quote, not the history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from trademesh.marketdata.v1 import events_pb2

from mesh import context
from mesh.events import QUOTES, Topic
from mesh.lifecycle import Lifecycle
from services.marketdata import convert
from services.marketdata.quotes import Quote

log = logging.getLogger(__name__)

# Publishes one event keyed by `key` and returns once the broker acknowledged it
# (`mesh.events.Producer.send`).
Send = Callable[[Topic, Message, str], Awaitable[None]]


def quote_updated(quote: Quote, correlation_id: str) -> events_pb2.QuoteUpdated:
    occurred_at = Timestamp()
    occurred_at.GetCurrentTime()
    return events_pb2.QuoteUpdated(
        event_id=str(uuid.uuid4()),
        occurred_at=occurred_at,
        correlation_id=correlation_id,
        quote=convert.quote_message(quote),
    )


class QuotePublisher(Lifecycle):
    """Publishes the quotes `offer` is given; `offer` is the board's listener and never waits.

    `replaced` counts quotes superseded before they were sent, `published` those the broker
    acknowledged, `failures` failed publish attempts.
    """

    def __init__(
        self,
        send: Send,
        *,
        topic: Topic = QUOTES,
        backoff_initial_seconds: float = 0.2,
        backoff_max_seconds: float = 10.0,
        send_timeout_seconds: float = 15.0,
        flush_timeout_seconds: float = 2.0,
        warn_every_seconds: float = 30.0,
    ) -> None:
        self._send = send
        self._topic = topic
        self._backoff_initial = backoff_initial_seconds
        self._backoff_max = backoff_max_seconds
        self._send_timeout = send_timeout_seconds
        self._flush_timeout = flush_timeout_seconds
        self._warn_every = warn_every_seconds
        self._pending: dict[str, Quote] = {}
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_warning = -float("inf")
        self.replaced = 0
        self.published = 0
        self.failures = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def offer(self, quotes: Sequence[Quote]) -> None:
        for quote in quotes:
            if quote.symbol in self._pending:
                self.replaced += 1
            self._pending[quote.symbol] = quote
        if quotes:
            self._ready.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="quote-publisher")

    async def stop(self) -> None:
        """Stop the background task, then try once, briefly, to publish what is pending."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        batch, self._pending = self._pending, {}
        if batch and self._flush_timeout > 0:
            try:
                async with asyncio.timeout(self._flush_timeout):
                    failed = await self._publish(batch)
            except TimeoutError:
                failed = batch
            if failed:
                log.warning("dropped %d unpublished quote(s) on the way out", len(failed))

    async def _run(self) -> None:
        backoff = self._backoff_initial
        while True:
            await self._ready.wait()
            self._ready.clear()
            batch, self._pending = self._pending, {}
            if not batch:
                continue
            try:
                failed = await self._publish(batch)
            except asyncio.CancelledError:
                self._restore(batch)  # for the flush in stop()
                raise
            if not failed:
                backoff = self._backoff_initial
                continue
            self._restore(failed)
            self._ready.set()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._backoff_max)

    def _restore(self, quotes: dict[str, Quote]) -> None:
        """Put back unsent quotes, unless the feed has meanwhile offered newer ones."""
        for symbol, quote in quotes.items():
            self._pending.setdefault(symbol, quote)

    async def _publish(self, batch: dict[str, Quote]) -> dict[str, Quote]:
        """Send every quote of `batch` concurrently; the ones that failed."""
        correlation_id = f"quotes-{uuid.uuid4().hex}"
        with context.bind(correlation_id=correlation_id):
            results = await asyncio.gather(
                *(
                    asyncio.wait_for(
                        self._send(self._topic, quote_updated(quote, correlation_id), symbol),
                        self._send_timeout,
                    )
                    for symbol, quote in batch.items()
                ),
                return_exceptions=True,
            )
        failed: dict[str, Quote] = {}
        error: BaseException | None = None
        for (symbol, quote), result in zip(batch.items(), results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, BaseException):
                failed[symbol] = quote
                error = result
            else:
                self.published += 1
        if error is not None:
            self.failures += 1
            self._warn(len(failed), error)
        return failed

    def _warn(self, count: int, error: BaseException) -> None:
        now = time.monotonic()
        if now - self._last_warning >= self._warn_every:
            self._last_warning = now
            log.warning(
                "publishing %d quote(s) to %s failed (%s: %s); keeping the latest per symbol "
                "and retrying",
                count,
                self._topic.name,
                type(error).__name__,
                error,
            )
