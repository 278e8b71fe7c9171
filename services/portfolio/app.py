"""Assemble the portfolio service: store, ledger, quotes, watch hub, event bus, servicer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import grpc
from prometheus_client import CollectorRegistry
from trademesh.portfolio.v1 import portfolio_pb2, portfolio_pb2_grpc

from mesh.events import (
    PORTFOLIO_UPDATES,
    QUOTES,
    TRADES,
    Consumer,
    EventsConfig,
    OutboxRelay,
    Topic,
    ensure_topics,
)
from mesh.lifecycle import Lifecycle
from mesh.server import Servicer, ServiceSpec
from mesh.store import Database, open_database
from services.portfolio.config import PortfolioConfig
from services.portfolio.consumers import TradeSettler, UpdateFanOut
from services.portfolio.hub import WatchHub
from services.portfolio.ledger import Ledger
from services.portfolio.quotes import Layered, QuoteBook, QuoteProvider
from services.portfolio.servicer import PortfolioServicer
from services.portfolio.store import Snapshot, migrate_store, snapshot

logger = logging.getLogger(__name__)

SERVICE = "portfolio"


@dataclass(frozen=True, slots=True)
class Topics:
    """The topics the service reads and writes (tests substitute private copies)."""

    trades: Topic = TRADES
    updates: Topic = PORTFOLIO_UPDATES
    quotes: Topic = QUOTES

    def all(self) -> list[Topic]:
        return [self.trades, self.updates, self.quotes]


@dataclass(slots=True)
class Portfolio(Lifecycle):
    """The assembled service. `start()` starts the outbox relay and the consumers (when an
    events config was given); `close()` stops them, ends the watches and closes the store;
    both safe to call twice."""

    config: PortfolioConfig
    db: Database
    ledger: Ledger
    book: QuoteBook
    hub: WatchHub
    servicer: PortfolioServicer
    events: EventsConfig | None = None
    topics: Topics = field(default_factory=Topics)
    relay: OutboxRelay | None = None
    consumers: Sequence[Lifecycle] = ()
    _stack: AsyncExitStack | None = field(default=None, repr=False)

    def service_spec(self, interceptors: Sequence[grpc.aio.ServerInterceptor] = ()) -> ServiceSpec:
        return ServiceSpec(
            name=SERVICE,
            servicers=[
                Servicer(
                    add_to_server=portfolio_pb2_grpc.add_PortfolioServiceServicer_to_server,
                    implementation=self.servicer,
                    full_name=portfolio_pb2.DESCRIPTOR.services_by_name[
                        "PortfolioService"
                    ].full_name,
                )
            ],
            interceptors=interceptors,
            # The relay and the consumers run once the server serves, until it drained.
            workers=(self,),
            on_stop=(self.close,),
        )

    def changed(self, portfolio_id: str) -> None:
        """After a commit: publish its event now and update this instance's watchers."""
        if self.relay is not None:
            self.relay.wake()
        self.hub.changed(portfolio_id)

    async def start(self) -> None:
        if self._stack is not None:
            return
        async with AsyncExitStack() as stack:
            if self.events is not None:
                await self._ensure_topics(self.events)
            if self.relay is not None:
                await stack.enter_async_context(self.relay)
            for consumer in self.consumers:
                await stack.enter_async_context(consumer)
            self._stack = stack.pop_all()

    async def _ensure_topics(self, events: EventsConfig) -> None:
        try:
            await ensure_topics(
                events,
                self.topics.all(),
                timeout_seconds=self.config.topics_timeout_seconds,
            )
        except (Exception, TimeoutError) as exc:
            # The relay and the consumers keep trying in the background; events wait in the
            # outbox meanwhile.
            logger.warning("Kafka topics could not be checked at start-up: %s", exc)

    async def stop(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def close(self) -> None:
        try:
            await self.hub.stop()
            await self.stop()
        finally:
            await self.db.close()


async def build_portfolio(
    config: PortfolioConfig,
    events: EventsConfig | None = None,
    *,
    quotes: QuoteProvider | None = None,
    database: Database | None = None,
    registry: CollectorRegistry | None = None,
    extra: Sequence[Lifecycle] = (),
    topics: Topics | None = None,
    now: Callable[[], float] = time.time,
) -> Portfolio:
    """Open and migrate the store and wire the service. `quotes` is the live quote source
    (marketdata through the mesh client); without one, valuations use only the quote book.
    With `events`, the outbox relay and the Kafka consumers are made (started by `start()`);
    without, events stay in the outbox (tests). On failure the store is closed again."""
    if database is None:
        database = open_database(
            config.database_url,
            config.sqlite_path,
            name=SERVICE,
            max_connections=config.database_max_connections,
        )
    try:
        await migrate_store(database)
    except BaseException:
        await asyncio.shield(database.close())
        raise
    book = QuoteBook()

    async def load(portfolio_id: str) -> Snapshot | None:
        return await snapshot(database, portfolio_id)

    hub = WatchHub(load, book, revalue_interval_seconds=config.revalue_interval_seconds)
    assembled: Portfolio | None = None

    def changed(portfolio_id: str) -> None:
        if assembled is not None:
            assembled.changed(portfolio_id)

    topics = topics or Topics()
    ledger = Ledger(
        database,
        now=now,
        on_change=changed,
        consumer=config.consumer_group,
        updates=topics.updates,
    )
    provider: QuoteProvider = book if quotes is None else Layered(quotes, book)
    relay: OutboxRelay | None = None
    consumers: list[Lifecycle] = []
    if events is not None:
        relay = OutboxRelay(database, events, source=SERVICE, registry=registry)
        consumers = [
            Consumer(
                events,
                config.consumer_group,
                [topics.trades],
                TradeSettler(ledger),
                registry=registry,
            ),
            Consumer(
                events,
                None,
                [topics.updates],
                UpdateFanOut(hub),
                auto_offset_reset="latest",
                registry=registry,
            ),
            Consumer(
                events,
                None,
                [topics.quotes],
                book.on_quote,
                auto_offset_reset="latest",
                registry=registry,
            ),
        ]
    assembled = Portfolio(
        config=config,
        db=database,
        ledger=ledger,
        book=book,
        hub=hub,
        servicer=PortfolioServicer(ledger, provider, hub, now=now),
        events=events,
        topics=topics,
        relay=relay,
        consumers=[*consumers, *extra],
    )
    return assembled
