"""The event path against the real Kafka: TradeExecuted published through mesh.events settles
exactly once, PortfolioUpdated leaves through the outbox relay, and a change applied by one
instance reaches the watchers of another. Topics are private copies per test."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp
from google.type import money_pb2
from trademesh.common.v1 import types_pb2
from trademesh.marketdata.v1 import events_pb2 as marketdata_events
from trademesh.marketdata.v1 import marketdata_pb2
from trademesh.portfolio.v1 import events_pb2 as portfolio_events
from trademesh.trading.v1 import events_pb2 as trading_events
from trademesh.trading.v1 import trading_pb2

from mesh.context import Principal
from mesh.events import Consumer, Delivery, EventsConfig, Producer
from mesh.infra import Kafka
from services.portfolio import Portfolio, PortfolioConfig, build_portfolio
from services.portfolio.app import Topics
from services.portfolio.store import queries, snapshot
from services.portfolio.trades import trade_input
from tests.conftest import eventually

TIMEOUT = 60.0
OWNER = Principal(
    user_id="0b8a9a63-1c1d-4d1e-8f53-5a7c1f0e2a01", session_id="s", roles=frozenset(), token="t"
)


@dataclass
class Bus:
    events: EventsConfig
    topics: Topics
    producer: Producer
    group: str


@pytest_asyncio.fixture
async def bus(kafka: Kafka) -> AsyncIterator[Bus]:
    suffix = uuid.uuid4().hex[:10]
    events = EventsConfig(
        bootstrap_servers=kafka.address,
        client_id=f"portfolio-test-{suffix}",
        consumer_max_attempts=2,
        consumer_backoff_initial_seconds=0.05,
        consumer_backoff_max_seconds=0.1,
        relay_poll_interval_seconds=0.2,
    )
    base = Topics()
    topics = Topics(
        *(dataclasses.replace(t, name=f"{t.name}.{suffix}") for t in base.all())  # type: ignore[arg-type]
    )
    async with Producer(events, source="trading-test") as producer:
        yield Bus(events, topics, producer, f"portfolio-{suffix}")


@asynccontextmanager
async def instance(bus: Bus, sqlite_path: Path) -> AsyncIterator[Portfolio]:
    """One service instance on the shared database, consuming and relaying."""
    config = PortfolioConfig(sqlite_path=sqlite_path, consumer_group=bus.group)
    async with AsyncExitStack() as stack:
        app = await build_portfolio(config, bus.events, topics=bus.topics)
        stack.push_async_callback(app.close)
        await app.start()
        for consumer in app.consumers:
            assert isinstance(consumer, Consumer)
            await asyncio.wait_for(consumer.assigned.wait(), TIMEOUT)
        yield app


def trade_executed(
    portfolio_id: str, *, quantity: str = "10", price: str = "100", trade_id: str | None = None
) -> trading_events.TradeExecuted:
    now = Timestamp()
    now.GetCurrentTime()
    notional = Decimal(quantity) * Decimal(price)
    return trading_events.TradeExecuted(
        event_id=str(uuid.uuid4()),
        occurred_at=now,
        correlation_id=f"cid-{uuid.uuid4().hex[:8]}",
        trade=trading_pb2.Trade(
            trade_id=trade_id or str(uuid.uuid4()),
            order_id=str(uuid.uuid4()),
            user_id=OWNER.user_id,
            portfolio_id=portfolio_id,
            symbol="AAPL",
            side=types_pb2.SIDE_BUY,
            quantity=quantity,
            price=price,
            notional=money_pb2.Money(currency_code="USD", units=int(notional)),
            fee=money_pb2.Money(currency_code="USD", units=1),
            execute_time=now,
        ),
    )


async def _trades(app: Portfolio, portfolio_id: str) -> int:
    async with app.db.transaction() as tx:
        return len(await queries.trades_since(tx, portfolio_id, 0))


async def test_a_trade_published_twice_settles_once(bus: Bus, tmp_path: Path) -> None:
    async with instance(bus, tmp_path / "portfolio.sqlite3") as app:
        record = await app.ledger.create(
            OWNER, name="k", description="", base_currency="USD", initial_cash=Decimal(5000)
        )
        pid = record.portfolio_id
        trade = trade_executed(pid)
        reserve = await app.ledger.reserve(
            pid, trade.trade.order_id, OWNER.user_id, Decimal(1100), "USD"
        )
        assert reserve.portfolio.available == 3900
        same_trade_again = trade_executed(pid, trade_id=trade.trade.trade_id)
        unknown_portfolio = trade_executed(str(uuid.uuid4()))
        for event in (trade, trade, same_trade_again, unknown_portfolio):
            await bus.producer.send(bus.topics.trades, event, key=event.trade.portfolio_id)
        # A later trade of the same key settles only after all of the above were handled.
        marker = trade_executed(pid, quantity="1")
        await bus.producer.send(bus.topics.trades, marker, key=pid)

        async def both_settled() -> bool:
            return await _trades(app, pid) == 2

        await eventually(both_settled, timeout=TIMEOUT, what="the trade and the marker settled")
        found = await snapshot(app.db, pid)
        assert found is not None
        # 5000 - (1000 + 1) - (100 + 1); the reservation was consumed, its rest released.
        assert found.portfolio.cash == Decimal("3898")
        assert found.portfolio.reserved == 0
        assert found.positions[0].quantity == Decimal("11")
        async with app.db.transaction() as tx:
            processed = await tx.fetchall(
                "SELECT event_id FROM processed_events WHERE consumer = ?", (bus.group,)
            )
        assert {trade.event_id, marker.event_id} <= {row[0] for row in processed}


async def test_every_change_is_published_once_on_the_updates_topic(
    bus: Bus, tmp_path: Path
) -> None:
    seen: list[portfolio_events.PortfolioUpdated] = []

    async def collect(delivery: Delivery) -> None:
        assert isinstance(delivery.event, portfolio_events.PortfolioUpdated)
        seen.append(delivery.event)

    reader = Consumer(bus.events, f"reader-{uuid.uuid4().hex[:6]}", [bus.topics.updates], collect)
    async with reader, instance(bus, tmp_path / "portfolio.sqlite3") as app:
        record = await app.ledger.create(
            OWNER, name="u", description="", base_currency="USD", initial_cash=Decimal(5000)
        )
        pid = record.portfolio_id
        trade = trade_executed(pid)
        await bus.producer.send(bus.topics.trades, trade, key=pid)

        async def published() -> bool:
            return [e.change for e in seen if e.portfolio.portfolio_id == pid] == [
                portfolio_events.PORTFOLIO_CHANGE_CREATED,
                portfolio_events.PORTFOLIO_CHANGE_TRADE_SETTLED,
            ]

        await eventually(published, timeout=TIMEOUT, what="CREATED then TRADE_SETTLED")
        settled = seen[-1]
        assert settled.trade_id == trade.trade.trade_id
        assert settled.correlation_id == trade.correlation_id  # carried from the trade
        assert settled.positions[0].quantity == "10"
        relay = app.relay
        assert relay is not None

        async def all_sent() -> bool:
            return await relay.pending() == 0

        await eventually(all_sent, timeout=TIMEOUT, what="the outbox drained")


async def test_a_change_on_one_instance_reaches_watchers_on_another(
    bus: Bus, tmp_path: Path
) -> None:
    path = tmp_path / "portfolio.sqlite3"
    async with instance(bus, path) as first, instance(bus, path) as second:
        record = await first.ledger.create(
            OWNER, name="x", description="", base_currency="USD", initial_cash=Decimal(1000)
        )
        pid = record.portfolio_id
        async with second.hub.watch(pid) as watcher:
            async with asyncio.timeout(TIMEOUT):
                initial = await watcher.next()
            assert initial is not None
            # The reader on `second` starts at the latest offset once assigned; reserve on
            # `first` until one change comes through (the first may precede its start).
            deadline = time.monotonic() + TIMEOUT
            reserved = 0
            while True:
                reserved += 1
                await first.ledger.reserve(pid, str(uuid.uuid4()), OWNER.user_id, Decimal(1), "USD")
                try:
                    async with asyncio.timeout(2.0):
                        message = await watcher.next()
                except TimeoutError:
                    assert time.monotonic() < deadline, "no change reached the other instance"
                    continue
                assert message is not None
                assert message.portfolio.reserved_cash.units >= 1
                break


async def test_quotes_on_kafka_revalue_watches(bus: Bus, tmp_path: Path) -> None:
    async with instance(bus, tmp_path / "portfolio.sqlite3") as app:
        record = await app.ledger.create(
            OWNER, name="q", description="", base_currency="USD", initial_cash=Decimal(1000)
        )
        pid = record.portfolio_id
        trade = trade_executed(pid, quantity="2", price="100")
        await app.ledger.settle(trade_input(trade))
        async with app.hub.watch(pid) as watcher:
            async with asyncio.timeout(TIMEOUT):
                first = await watcher.next()
            assert first is not None and first.positions[0].market_price == ""
            # The quote reader starts at the latest offset once assigned: publish rising
            # quotes until one revalues the watch.
            deadline = time.monotonic() + TIMEOUT
            step = 0
            while True:
                step += 1
                price = f"{100 + step}.5"
                quote = marketdata_pb2.Quote(symbol="AAPL", last_price=price)
                quote.quote_time.GetCurrentTime()
                event = marketdata_events.QuoteUpdated(event_id=str(uuid.uuid4()), quote=quote)
                await bus.producer.send(bus.topics.quotes, event, key="AAPL")
                try:
                    async with asyncio.timeout(2.0):
                        message = await watcher.next()
                except TimeoutError:
                    assert time.monotonic() < deadline, "no quote reached the watch"
                    continue
                assert message is not None
                valued = message.positions[0]
                assert valued.market_price.endswith(".5")
                value = valued.market_value
                assert Decimal(value.units) + Decimal(value.nanos) / 10**9 == 2 * Decimal(
                    valued.market_price
                )
                break
