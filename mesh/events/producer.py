"""A direct (non-transactional) producer, for streams whose loss on a crash is harmless."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError
from google.protobuf.message import Message
from prometheus_client import CollectorRegistry

from mesh.events._headers import check_event, event_headers, to_kafka
from mesh.events._kafka import close_quietly, new_producer, start_or_close
from mesh.events.config import EventsConfig
from mesh.events.metrics import event_metrics
from mesh.events.topics import Topic
from mesh.lifecycle import Lifecycle

logger = logging.getLogger(__name__)


class Producer(Lifecycle):
    """Publishes events straight to Kafka (idempotent producer, `acks=all`), with the same
    CloudEvents, trace and correlation headers the outbox gives. Use it for streams such as
    quotes, where the next value replaces a lost one; state changes go through the outbox.

        async with Producer(config, source="marketdata") as producer:
            await producer.send(QUOTES, QuoteUpdated(event_id=..., quote=...), key="AAPL")

    `start()` does not fail while Kafka is unreachable: the connection is retried by the
    next `send`, which raises until the broker answers.
    """

    def __init__(
        self,
        config: EventsConfig,
        *,
        source: str,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if not source:
            raise ValueError("source (the publishing service's name) must not be empty")
        self._config = config
        self._source = source
        self._metrics = event_metrics(registry)
        self._producer: AIOKafkaProducer | None = None
        self._connecting = asyncio.Lock()
        self._started = False
        self._closed = False

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        try:
            await self._connected()
        except KafkaError as exc:
            logger.warning("%s: Kafka not reachable yet (%s); sends will retry", self._source, exc)

    async def stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._connecting:
            producer, self._producer = self._producer, None
        if producer is not None:
            await close_quietly(producer, self._config.request_timeout_seconds)

    async def _connected(self) -> AIOKafkaProducer:
        async with self._connecting:
            if self._closed:
                raise RuntimeError("the producer is stopped")
            if self._producer is None:
                producer = new_producer(self._config, f"{self._source}-producer")
                await start_or_close(producer)
                self._producer = producer
            return self._producer

    async def send(self, topic: Topic, event: Message, key: str) -> None:
        """Publish `event` to `topic` keyed by `key`; returns once the broker acknowledged it.

        Raises `TypeError`/`ValueError` as `enqueue` does, and `KafkaError` when the broker
        does not acknowledge within the request timeout.
        """
        check_event(topic, event, key)
        headers = to_kafka(event_headers(event), self._source)
        producer = await self._connected()
        try:
            async with asyncio.timeout(self._config.request_timeout_seconds * 2):
                await producer.send_and_wait(
                    topic.name,
                    value=event.SerializeToString(deterministic=True),
                    key=key.encode(),
                    headers=headers,
                )
        except TimeoutError:
            raise KafkaTimeoutError(f"{topic.name}: no acknowledgement in time") from None
        self._metrics.produced.labels(self._source, topic.name).inc()
