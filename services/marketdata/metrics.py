"""Prometheus metrics of the feed, its streams and its publisher, read from them on scrape."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.marketdata.board import QuoteBoard
from services.marketdata.publisher import QuotePublisher


class MarketDataCollector(Collector):
    def __init__(self, board: QuoteBoard, publisher: QuotePublisher | None = None) -> None:
        self._board = board
        self._publisher = publisher

    def collect(self) -> Iterator[Metric]:
        board = self._board
        yield GaugeMetricFamily(
            "marketdata_stream_subscribers",
            "StreamQuotes calls this instance is serving.",
            value=board.subscriber_count,
        )
        yield CounterMetricFamily(
            "marketdata_feed_batches",
            "Batches of quotes taken from the quote provider.",
            value=board.batches,
        )
        yield CounterMetricFamily(
            "marketdata_stream_quotes_replaced",
            "Quotes a newer one replaced before a slow stream reader took them.",
            value=board.replaced,
        )
        publisher = self._publisher
        if publisher is None:
            return
        yield CounterMetricFamily(
            "marketdata_quotes_published",
            "QuoteUpdated records the broker acknowledged.",
            value=publisher.published,
        )
        yield CounterMetricFamily(
            "marketdata_quotes_replaced_unpublished",
            "Quotes a newer one replaced before they could be published.",
            value=publisher.replaced,
        )
        yield CounterMetricFamily(
            "marketdata_publish_failures",
            "Publish attempts that failed (Kafka down or slow); the latest quotes are retried.",
            value=publisher.failures,
        )
        yield GaugeMetricFamily(
            "marketdata_quotes_pending_publish",
            "Quotes waiting to be published, at most one per symbol.",
            value=publisher.pending,
        )
