"""A Kafka consumer that commits offsets only after the handler applied each record."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from mesh.events.config import EventsConfig
from mesh.events.delivery import Handler
from mesh.events.topics import Topic
from mesh.lifecycle import Lifecycle


class Consumer(Lifecycle):
    """Runs `handler` for every record of `topics`, one record at a time per consumer.

    The handler gets one `Delivery` and runs inside the record's correlation id (bound into
    `mesh.context`) and trace context (a CONSUMER span whose parent is the record's
    `traceparent`). An offset is committed only after the handler returned for the record, so
    a crash or `stop()` mid-handler redelivers it: handlers apply idempotently, e.g. with
    `mark_processed` in the same transaction as the change.

    A record that cannot be decoded, or whose handler still raises after
    `consumer_max_attempts` attempts (exponential backoff between them), is published to
    `<topic>.dlq` with its original key, value and headers plus `dlq-error`,
    `dlq-original-topic`, `dlq-original-partition`, `dlq-original-offset`, `dlq-attempts` and
    `dlq-consumer`; then consumption continues.

    `group_id` names the consumer group (instances of one service share it and split the
    partitions). `group_id=None` makes a broadcast consumer: every instance reads every
    partition from `auto_offset_reset` and commits nothing (for caches such as revocations).
    """

    def __init__(
        self,
        config: EventsConfig,
        group_id: str | None,
        topics: Sequence[Topic],
        handler: Handler,
        *,
        auto_offset_reset: str = "earliest",
        registry: CollectorRegistry | None = None,
    ) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        """Join the group and start consuming in a background task."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop consuming; a record whose handler has not returned is not committed."""
        raise NotImplementedError
