"""The marketdata metrics, scraped from a real registry while a board and publisher run."""

from __future__ import annotations

import asyncio

from google.protobuf.message import Message
from prometheus_client import CollectorRegistry

from mesh.events import Topic
from services.marketdata import QuoteBoard, QuotePublisher
from services.marketdata.metrics import MarketDataCollector
from tests.conftest import eventually
from tests.unit.services.marketdata.conftest import ManualProvider


async def test_metrics_follow_subscribers_replacements_and_publishing() -> None:
    provider = ManualProvider(["AAA", "BBB"])
    down = True

    async def send(topic: Topic, event: Message, key: str) -> None:
        if down:
            raise ConnectionError("broker unreachable")

    publisher = QuotePublisher(send, backoff_initial_seconds=0.01, backoff_max_seconds=0.02)
    registry = CollectorRegistry()
    async with publisher, QuoteBoard(provider, listeners=[publisher.offer]) as board:
        registry.register(MarketDataCollector(board, publisher))
        await asyncio.wait_for(provider.running.wait(), 5)

        def value(name: str) -> float:
            sample = registry.get_sample_value(name)
            assert sample is not None, name
            return sample

        with board.subscribe(["AAA"]):
            assert value("marketdata_stream_subscribers") == 1
            provider.push()
            provider.push()
            assert value("marketdata_feed_batches_total") == 2
            assert value("marketdata_stream_quotes_replaced_total") == 2  # snapshot, then tick 1
        assert value("marketdata_stream_subscribers") == 0
        await eventually(
            lambda: asyncio.sleep(0, value("marketdata_publish_failures_total") >= 1),
            what="a failed publish",
        )
        assert value("marketdata_quotes_pending_publish") <= 2
        down = False
        await eventually(
            lambda: asyncio.sleep(0, value("marketdata_quotes_published_total") == 2),
            what="the latest two quotes published",
        )
        assert value("marketdata_quotes_pending_publish") == 0
