"""The Kafka feeds of a trading process: quotes into the matcher's book, order changes into
the stream hub, both broadcast consumers on the real broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp
from trademesh.marketdata.v1 import events_pb2 as marketdata_events
from trademesh.marketdata.v1 import marketdata_pb2
from trademesh.trading.v1 import events_pb2, trading_pb2

from mesh.events import ORDERS, QUOTES, EventsConfig, Producer, ensure_topics
from mesh.infra import Kafka
from services.trading.quotes import KafkaQuoteFeed, QuoteBook
from services.trading.updates import KafkaOrderFeed, OrderUpdates
from services.trading.upstreams import Price
from tests.conftest import eventually


@pytest_asyncio.fixture
async def events(kafka: Kafka) -> AsyncIterator[EventsConfig]:
    config = EventsConfig(
        bootstrap_servers=kafka.address, client_id=f"trading-feeds-{uuid.uuid4().hex[:8]}"
    )
    await ensure_topics(config, [QUOTES, ORDERS])
    yield config


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp


async def test_quotes_reach_the_book_and_the_sink(events: EventsConfig) -> None:
    symbol = f"T{uuid.uuid4().hex[:6].upper()}"
    book = QuoteBook()
    heard: list[Price] = []

    async def sink(price: Price) -> None:
        heard.append(price)

    async with (
        Producer(events, source="marketdata-test") as producer,
        KafkaQuoteFeed(events, book, sink),
    ):
        for ask in ("10.01", "10.02", "10.03"):
            quote = marketdata_pb2.Quote(
                symbol=symbol, bid_price="10", ask_price=ask, currency="USD", quote_time=_now()
            )
            event = marketdata_events.QuoteUpdated(event_id=str(uuid.uuid4()), quote=quote)
            await producer.send(QUOTES, event, key=symbol)

        async def all_heard() -> bool:
            latest = book.latest(symbol)
            return latest is not None and str(latest.ask) == "10.03"

        await eventually(all_heard, timeout=60, what="the last quote in the book")
    assert [str(p.ask) for p in heard if p.symbol == symbol] == ["10.01", "10.02", "10.03"]


async def test_order_changes_reach_the_hub_of_every_instance(events: EventsConfig) -> None:
    user = str(uuid.uuid4())
    hubs = [OrderUpdates(), OrderUpdates()]
    feeds = [KafkaOrderFeed(events, hub) for hub in hubs]
    async with Producer(events, source="trading-test") as producer:
        for feed in feeds:
            await feed.start()
        try:
            async with hubs[0].subscribe(user) as first, hubs[1].subscribe(user) as second:
                # The feeds start at the latest offset: publish until both are listening.
                order = trading_pb2.Order(order_id=str(uuid.uuid4()), user_id=user)

                async def publish_and_hear() -> bool:
                    order.update_time.GetCurrentTime()
                    event = events_pb2.OrderUpdated(event_id=str(uuid.uuid4()), order=order)
                    await producer.send(ORDERS, event, key=user)
                    got = await asyncio.gather(
                        *(asyncio.wait_for(s.next(), 2) for s in (first, second)),
                        return_exceptions=True,
                    )
                    return all(isinstance(g, trading_pb2.Order) for g in got)

                await eventually(publish_and_hear, timeout=60, what="both hubs heard")
        finally:
            for feed in feeds:
                await feed.stop()
