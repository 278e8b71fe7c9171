"""QuoteUpdated publishing: keyed by symbol, never blocking the feed, latest-wins when Kafka is
down. The broker is replaced here by a `send` the test controls (up, failing, hanging); the
real Kafka path is covered by the integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest_asyncio
from google.protobuf.message import Message
from trademesh.marketdata.v1 import events_pb2

from mesh import context
from mesh.events import QUOTES, Topic
from services.marketdata import QuotePublisher
from tests.conftest import eventually
from tests.unit.services.marketdata.conftest import quote


@dataclass
class Broker:
    """Records what was sent; `down` makes sends fail, `hang` makes them never return."""

    sent: list[tuple[str, str, events_pb2.QuoteUpdated, str]] = field(default_factory=list)
    down: bool = False
    hang: bool = False
    attempts: int = 0

    async def send(self, topic: Topic, event: Message, key: str) -> None:
        self.attempts += 1
        if self.hang:
            await asyncio.Event().wait()
        if self.down:
            raise ConnectionError("broker unreachable")
        assert isinstance(event, events_pb2.QuoteUpdated)
        self.sent.append((topic.name, key, event, context.current().correlation_id or ""))


@pytest_asyncio.fixture
async def broker() -> Broker:
    return Broker()


@pytest_asyncio.fixture
async def publisher(broker: Broker) -> AsyncIterator[QuotePublisher]:
    async with QuotePublisher(
        broker.send,
        backoff_initial_seconds=0.01,
        backoff_max_seconds=0.05,
        send_timeout_seconds=0.2,
    ) as publisher:
        yield publisher


async def test_every_quote_is_published_keyed_by_symbol(
    broker: Broker, publisher: QuotePublisher
) -> None:
    publisher.offer([quote("AAA", 1, "101.50"), quote("BBB", 1)])
    await eventually(lambda: asyncio.sleep(0, len(broker.sent) == 2), what="two records")
    by_key = {key: (topic, event, cid) for topic, key, event, cid in broker.sent}
    assert set(by_key) == {"AAA", "BBB"}
    topic, event, correlation_id = by_key["AAA"]
    assert topic == QUOTES.name == "marketdata.quotes.v1"
    assert event.quote.symbol == "AAA" and event.quote.last_price == "101.50"
    assert event.event_id and event.occurred_at.seconds > 0
    assert event.correlation_id == correlation_id != ""  # the same id in the headers' context
    assert by_key["BBB"][1].event_id != event.event_id
    assert publisher.published == 2


async def test_with_kafka_down_the_backlog_stays_one_quote_per_symbol(
    broker: Broker, publisher: QuotePublisher
) -> None:
    broker.down = True
    for tick in range(1, 2001):
        publisher.offer([quote("AAA", tick), quote("BBB", tick)])  # returns at once, always
        if tick % 500 == 0:
            await asyncio.sleep(0.02)  # let the publisher try (and fail) meanwhile
        assert publisher.pending <= 2
    await eventually(lambda: asyncio.sleep(0, publisher.failures >= 2), what="failed attempts")
    broker.down = False
    await eventually(lambda: asyncio.sleep(0, publisher.pending == 0), what="backlog drained")
    # What reaches the topic after the outage is the latest quote, not the history.
    latest = {key: event.quote.volume for _, key, event, _ in broker.sent}
    assert latest == {"AAA": "20000", "BBB": "20000"}
    assert len(broker.sent) == 2


async def test_a_hanging_broker_times_out_and_the_quote_is_retried(
    broker: Broker, publisher: QuotePublisher
) -> None:
    broker.hang = True
    publisher.offer([quote("AAA", 1)])
    await eventually(lambda: asyncio.sleep(0, publisher.failures >= 1), what="a timed-out send")
    publisher.offer([quote("AAA", 2)])
    broker.hang = False
    await eventually(lambda: asyncio.sleep(0, bool(broker.sent)), what="a record")
    await eventually(lambda: asyncio.sleep(0, publisher.pending == 0), what="nothing pending")
    assert broker.sent[-1][2].quote.volume == "20"


async def test_stopping_publishes_what_is_pending(broker: Broker) -> None:
    broker.down = True
    publisher = QuotePublisher(broker.send, backoff_initial_seconds=60, backoff_max_seconds=60)
    await publisher.start()
    publisher.offer([quote("AAA", 1), quote("BBB", 1)])
    await eventually(lambda: asyncio.sleep(0, publisher.failures == 1), what="a failed attempt")
    broker.down = False  # back, but the publisher is backing off for a minute
    await asyncio.wait_for(publisher.stop(), 5)
    assert sorted(key for _, key, _, _ in broker.sent) == ["AAA", "BBB"]
    assert publisher.pending == 0


async def test_stopping_gives_up_on_a_hanging_broker_after_the_flush_timeout(
    broker: Broker,
) -> None:
    broker.hang = True
    publisher = QuotePublisher(broker.send, send_timeout_seconds=60, flush_timeout_seconds=0.1)
    await publisher.start()
    publisher.offer([quote("AAA", 1)])
    await eventually(lambda: asyncio.sleep(0, broker.attempts == 1), what="a send in flight")
    await asyncio.wait_for(publisher.stop(), 5)  # the in-flight quote is retried, then dropped
    assert broker.attempts == 2 and broker.sent == []
