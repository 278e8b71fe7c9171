"""Assemble the trading service: store, saga, matcher, recovery, event feeds, servicer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import grpc
from prometheus_client import CollectorRegistry
from trademesh.trading.v1 import trading_pb2, trading_pb2_grpc

from mesh.events import ORDERS, QUOTES, SESSIONS, TRADES, EventsConfig, OutboxRelay, ensure_topics
from mesh.lifecycle import Lifecycle
from mesh.periodic import Periodic
from mesh.server import Servicer, ServiceSpec
from mesh.store import open_database
from services.trading import convert
from services.trading.config import TradingConfig
from services.trading.matcher import Matcher
from services.trading.models import Order
from services.trading.orders import Orders
from services.trading.quotes import KafkaQuoteFeed, QuoteBook
from services.trading.recovery import Recovery
from services.trading.risk import Fees
from services.trading.saga import OrderSaga, SagaSettings
from services.trading.servicer import TradingServicer
from services.trading.store import TradingStore
from services.trading.updates import KafkaOrderFeed, OrderUpdates
from services.trading.upstreams import Cash, Holdings, Market

log = logging.getLogger(__name__)


class _Topics(Lifecycle):
    """Creates every topic this process writes or reads before its consumers start. Kafka
    being away does not stop the service: the relay and consumers keep trying, and events
    wait in the outbox."""

    def __init__(self, events: EventsConfig, timeout_seconds: float) -> None:
        self._events = events
        self._timeout = timeout_seconds

    async def start(self) -> None:
        try:
            await ensure_topics(
                self._events, [ORDERS, TRADES, QUOTES, SESSIONS], timeout_seconds=self._timeout
            )
        except (Exception, TimeoutError) as exc:
            log.warning("Kafka topics could not be checked at start-up: %s", exc)


class _SagaWorker(Lifecycle):
    """Stops the saga's running steps before the relay publishes its last events."""

    def __init__(self, saga: OrderSaga) -> None:
        self._saga = saga

    async def stop(self) -> None:
        await self._saga.close()


@dataclass(slots=True)
class Upstreams:
    market: Market
    cash: Cash
    holdings: Holdings


@dataclass(slots=True)
class Trading(Lifecycle):
    """The assembled service. `start()` runs its workers (as the server bootstrap would);
    `stop()` stops them and closes the store; both are safe to call twice."""

    config: TradingConfig
    store: TradingStore
    saga: OrderSaga
    matcher: Matcher
    orders: Orders
    updates: OrderUpdates
    recovery: Recovery
    servicer: TradingServicer
    book: QuoteBook
    workers: tuple[Lifecycle, ...] = ()
    _started: list[Lifecycle] = field(default_factory=list)
    _closed: bool = False

    def service_spec(self, interceptors: Sequence[grpc.aio.ServerInterceptor] = ()) -> ServiceSpec:
        return ServiceSpec(
            name="trading",
            servicers=[
                Servicer(
                    add_to_server=trading_pb2_grpc.add_TradingServiceServicer_to_server,
                    implementation=self.servicer,
                    full_name=trading_pb2.DESCRIPTOR.services_by_name["TradingService"].full_name,
                )
            ],
            interceptors=interceptors,
            workers=self.workers,
            on_stop=(self.close,),
        )

    async def start(self) -> None:
        if self._started or self._closed:
            return
        for worker in self.workers:
            await worker.start()
            self._started.append(worker)

    async def stop(self) -> None:
        while self._started:
            await self._started.pop().stop()
        await self.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.saga.close()
        await self.store.close()


async def build_trading(
    config: TradingConfig,
    upstreams: Upstreams,
    *,
    events: EventsConfig | None = None,
    registry: CollectorRegistry | None = None,
    now: Callable[[], float] = time.time,
    store: TradingStore | None = None,
    extra_workers: Sequence[Lifecycle] = (),
) -> Trading:
    """Open and migrate the store and wire the parts. With `events`, the outbox relay and the
    Kafka feeds configured in `config` become workers; without, the outbox only fills (tests)."""
    if store is None:
        store = TradingStore(
            open_database(
                config.database_url,
                config.sqlite_path,
                name="trading",
                max_connections=config.database_max_connections,
            )
        )
    try:
        await store.migrate()
    except BaseException:
        await store.close()
        raise
    book = QuoteBook(now=now)
    saga = OrderSaga(
        store,
        upstreams.cash,
        book,
        SagaSettings(
            fees=Fees(config.fee_decimal, config.min_fee_decimal),
            market_order_timeout_seconds=config.market_order_timeout_seconds,
            stale_after_seconds=config.stale_after_seconds,
            pending_timeout_seconds=config.pending_timeout_seconds,
        ),
        now=now,
    )
    matcher = Matcher(store, saga)
    updates = OrderUpdates()
    orders = Orders(store, saga, upstreams.market, upstreams.holdings, config, now=now)
    recovery = Recovery(
        store, saga, matcher, stale_after_seconds=config.stale_after_seconds, now=now
    )
    workers: list[Lifecycle] = []
    if events is not None:
        workers.append(_Topics(events, config.topics_timeout_seconds))
    workers.extend(extra_workers)
    if events is not None:
        relay = OutboxRelay(store.db, events, source="trading", registry=registry)
        saga.on_change(lambda _order: relay.wake())
        workers.append(relay)
    workers.append(_SagaWorker(saga))
    if config.order_updates == "local":

        def publish(order: Order) -> None:
            updates.publish(convert.order_message(order))

        saga.on_change(publish)
    elif events is not None:
        workers.append(KafkaOrderFeed(events, updates))
    if config.quote_feed == "kafka" and events is not None:
        workers.append(KafkaQuoteFeed(events, book, matcher.on_quote))
    workers.append(Periodic("trading recovery", config.sweep_interval_seconds, recovery.sweep))
    return Trading(
        config=config,
        store=store,
        saga=saga,
        matcher=matcher,
        orders=orders,
        updates=updates,
        recovery=recovery,
        servicer=TradingServicer(orders, updates),
        book=book,
        workers=tuple(workers),
    )
