"""A direct (non-transactional) producer, for streams whose loss on a crash is harmless."""

from __future__ import annotations

from google.protobuf.message import Message
from prometheus_client import CollectorRegistry

from mesh.events.config import EventsConfig
from mesh.events.topics import Topic
from mesh.lifecycle import Lifecycle


class Producer(Lifecycle):
    """Publishes events straight to Kafka (idempotent producer, `acks=all`), with the same
    CloudEvents, trace and correlation headers the outbox gives. Use it for streams such as
    quotes, where the next value replaces a lost one; state changes go through the outbox.

        async with Producer(config, source="marketdata") as producer:
            await producer.send(QUOTES, QuoteUpdated(event_id=..., quote=...), key="AAPL")
    """

    def __init__(
        self,
        config: EventsConfig,
        *,
        source: str,
        registry: CollectorRegistry | None = None,
    ) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def send(self, topic: Topic, event: Message, key: str) -> None:
        """Publish `event` to `topic` keyed by `key`; returns once the broker acknowledged it.

        Raises `TypeError`/`ValueError` as `enqueue` does, and `KafkaError` when the broker
        does not acknowledge within the request timeout.
        """
        raise NotImplementedError
