"""A Kafka consumer that commits offsets only after the handler applied each record."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import CollectorRegistry

from mesh import context as call_context
from mesh.events._decode import Undecodable, decode, trace_carrier
from mesh.events._kafka import close_quietly, new_producer, start_or_close
from mesh.events.config import EventsConfig
from mesh.events.delivery import Delivery, Handler
from mesh.events.metrics import event_metrics
from mesh.events.topics import Topic, dlq_name, ensure_topics
from mesh.lifecycle import Lifecycle

logger = logging.getLogger(__name__)
_tracer = trace.get_tracer("trademesh.events")

# Headers a dead letter carries besides the original record's own.
DLQ_ERROR = "dlq-error"
DLQ_ORIGINAL_TOPIC = "dlq-original-topic"
DLQ_ORIGINAL_PARTITION = "dlq-original-partition"
DLQ_ORIGINAL_OFFSET = "dlq-original-offset"
DLQ_ORIGINAL_KEY = "dlq-original-key"
DLQ_ATTEMPTS = "dlq-attempts"
DLQ_CONSUMER = "dlq-consumer"
_OFFSET_RESETS = ("earliest", "latest")


class _Stopping(Exception):
    """`stop()` was called: leave the current record unfinished and uncommitted."""


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
    `dlq-original-topic`, `dlq-original-partition`, `dlq-original-offset`,
    `dlq-original-key`, `dlq-attempts` and `dlq-consumer`; its offset is committed only once
    the dead letter is acknowledged; then consumption continues.

    `group_id` names the consumer group (instances of one service share it and split the
    partitions). `group_id=None` makes a broadcast consumer: every instance reads every
    partition from `auto_offset_reset` and commits nothing (for caches such as revocations).

    `start()` returns at once; connecting (and reconnecting while Kafka is down) happens in
    the background with backoff, after creating the topics and their dead-letter topics
    when missing (`ensure_topics`). `assigned` is set once partitions are assigned.
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
        if not topics:
            raise ValueError("a consumer needs at least one topic")
        if group_id is not None and not group_id:
            raise ValueError("group_id must be a non-empty name or None")
        if auto_offset_reset not in _OFFSET_RESETS:
            raise ValueError(f"auto_offset_reset must be one of {_OFFSET_RESETS}")
        self._config = config
        self._group_id = group_id
        self._label = group_id or "broadcast"
        self._topics = {topic.name: topic for topic in topics}
        self._handler = handler
        self._offset_reset = auto_offset_reset
        self._metrics = event_metrics(registry)
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self._done: dict[TopicPartition, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        # Besides cancelling the loop: a driver may swallow a cancellation (asyncio.wait_for
        # before Python 3.12 can), and the loop must still end.
        self._stopping = asyncio.Event()
        self._topics_ready = False
        self.assigned = asyncio.Event()

    @property
    def group_id(self) -> str | None:
        return self._group_id

    async def start(self) -> None:
        """Start consuming in a background task."""
        if self._task is not None or self._stopped:
            return
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self._label}")

    async def stop(self) -> None:
        """Stop consuming; a record whose handler has not returned is not committed."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])

    # -- the loop --

    async def _run(self) -> None:
        delay = self._config.consumer_backoff_initial_seconds
        try:
            while not self._stopping.is_set():
                try:
                    await self._connect()
                    delay = self._config.consumer_backoff_initial_seconds
                    await self._consume()
                except _Stopping:
                    return
                except Exception as exc:
                    logger.warning(
                        "consumer %s: %s; reconnecting in %.1fs",
                        self._label,
                        exc,
                        delay,
                        exc_info=not isinstance(exc, KafkaError),
                    )
                    await self._shutdown()
                    await self._pause(delay)
                    delay = min(delay * 2, self._config.consumer_backoff_max_seconds)
        except _Stopping:
            return
        finally:
            await self._shutdown()

    async def _pause(self, seconds: float) -> None:
        """Sleep `seconds`; raise `_Stopping` as soon as `stop()` is called."""
        try:
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        except TimeoutError:
            return
        raise _Stopping

    async def _connect(self) -> None:
        if not self._topics_ready:
            # Subscribing to a topic that does not exist yet would only notice it at the next
            # metadata refresh, minutes later; its dead-letter topic is needed too.
            await ensure_topics(
                self._config,
                self._topics.values(),
                timeout_seconds=self._config.request_timeout_seconds,
            )
            self._topics_ready = True
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._config.bootstrap_servers,
            client_id=f"{self._config.client_id}-{self._label}",
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset=self._offset_reset,
            max_poll_records=self._config.consumer_max_batch,
            request_timeout_ms=max(self._config.request_timeout_ms, 40_000),
            isolation_level="read_committed",
        )
        consumer.subscribe(list(self._topics), listener=_Listener(self))
        await start_or_close(consumer)
        self._consumer = consumer
        self._done = {}

    async def _consume(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        while True:
            if self._stopping.is_set():
                raise _Stopping
            batches = await consumer.getmany(timeout_ms=1000)
            if consumer.assignment():
                self.assigned.set()
            for tp, records in batches.items():
                for record in records:
                    if self._stopping.is_set():
                        raise _Stopping
                    if tp not in consumer.assignment():
                        break  # revoked during this batch; its new owner reads it
                    await self._process(record)
                    self._done[tp] = record.offset + 1
                if records:
                    self._record_lag(consumer, tp, records[-1].offset + 1)
                await self._commit()

    async def _process(self, record: Any) -> None:
        try:
            delivery = decode(record, self._topics)
        except Undecodable as exc:
            logger.error(
                "consumer %s: %s[%d]@%d cannot be decoded: %s",
                self._label,
                record.topic,
                record.partition,
                record.offset,
                exc,
            )
            await self._dead_letter(record, f"undecodable: {exc}", attempts=0)
            self._metrics.consumer_dead_lettered.labels(self._label, record.topic, "decode").inc()
            return
        attempts = self._config.consumer_max_attempts
        delay = self._config.consumer_backoff_initial_seconds
        for attempt in range(1, attempts + 1):
            try:
                await self._apply(delivery)
            except Exception as exc:
                self._metrics.consumer_failed.labels(self._label, record.topic).inc()
                logger.warning(
                    "consumer %s: handler failed on %s[%d]@%d (attempt %d of %d)",
                    self._label,
                    record.topic,
                    record.partition,
                    record.offset,
                    attempt,
                    attempts,
                    exc_info=True,
                )
                if attempt == attempts:
                    await self._dead_letter(
                        record, f"{type(exc).__name__}: {exc}", attempts=attempts
                    )
                    self._metrics.consumer_dead_lettered.labels(
                        self._label, record.topic, "handler"
                    ).inc()
                    return
                await self._pause(delay)
                delay = min(delay * 2, self._config.consumer_backoff_max_seconds)
            else:
                self._metrics.consumer_applied.labels(self._label, record.topic).inc()
                return

    async def _apply(self, delivery: Delivery) -> None:
        parent = propagate.extract(trace_carrier(delivery.headers))
        correlation_id = delivery.correlation_id or uuid.uuid4().hex
        attributes: dict[str, str | int] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": delivery.topic,
            "messaging.destination.partition.id": str(delivery.partition),
            "messaging.kafka.offset": delivery.offset,
            "messaging.message.id": delivery.event_id,
            "messaging.consumer.group.name": self._label,
        }
        with (
            call_context.bind(correlation_id=correlation_id),
            _tracer.start_as_current_span(
                f"process {delivery.topic}",
                context=parent,
                kind=SpanKind.CONSUMER,
                attributes=attributes,
                record_exception=True,
                set_status_on_exception=False,
            ) as span,
        ):
            try:
                await self._handler(delivery)
            except Exception as exc:
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                raise

    async def _dead_letter(self, record: Any, error: str, *, attempts: int) -> None:
        """Publish `record` to its dead-letter topic, retrying until acknowledged."""
        headers = list(record.headers or ())
        headers += [
            (DLQ_ERROR, error[:4000].encode()),
            (DLQ_ORIGINAL_TOPIC, record.topic.encode()),
            (DLQ_ORIGINAL_PARTITION, str(record.partition).encode()),
            (DLQ_ORIGINAL_OFFSET, str(record.offset).encode()),
            (DLQ_ORIGINAL_KEY, record.key or b""),
            (DLQ_ATTEMPTS, str(attempts).encode()),
            (DLQ_CONSUMER, self._label.encode()),
        ]
        delay = self._config.consumer_backoff_initial_seconds
        while True:
            try:
                if self._dlq is None:
                    producer = new_producer(self._config, f"{self._label}-dlq")
                    await start_or_close(producer)
                    self._dlq = producer
                async with asyncio.timeout(self._config.request_timeout_seconds * 2):
                    await self._dlq.send_and_wait(
                        dlq_name(record.topic),
                        value=record.value,
                        key=record.key,
                        headers=headers,
                    )
                return
            except Exception as exc:
                logger.warning(
                    "consumer %s: dead letter for %s[%d]@%d not acknowledged (%s); retrying",
                    self._label,
                    record.topic,
                    record.partition,
                    record.offset,
                    exc,
                )
                dlq, self._dlq = self._dlq, None
                if dlq is not None:
                    await close_quietly(dlq, 5.0)
                await self._pause(delay)
                delay = min(delay * 2, self._config.consumer_backoff_max_seconds)

    # -- offsets --

    async def _commit(self, partitions: Sequence[TopicPartition] | None = None) -> None:
        consumer = self._consumer
        if consumer is None or self._group_id is None:
            self._done.clear()
            return
        assigned = consumer.assignment()
        wanted = (
            dict(self._done)
            if partitions is None
            else {tp: self._done[tp] for tp in partitions if tp in self._done}
        )
        offsets = {tp: offset for tp, offset in wanted.items() if tp in assigned}
        for tp in wanted:
            self._done.pop(tp, None)
        if not offsets:
            return
        try:
            async with asyncio.timeout(self._config.request_timeout_seconds):
                await consumer.commit(offsets)
        except (KafkaError, TimeoutError) as exc:
            # The records are applied; whoever reads them next skips them by event id.
            logger.warning("consumer %s: commit failed (%s)", self._label, exc)

    def _record_lag(self, consumer: AIOKafkaConsumer, tp: TopicPartition, position: int) -> None:
        highwater = consumer.highwater(tp)
        if highwater is not None:
            self._metrics.consumer_lag.labels(self._label, tp.topic, str(tp.partition)).set(
                max(highwater - position, 0)
            )

    async def _shutdown(self) -> None:
        consumer = self._consumer
        dlq, self._dlq = self._dlq, None
        self.assigned.clear()
        if consumer is not None:
            try:
                await self._commit()  # what was applied before the stop
            finally:
                self._consumer = None
                await close_quietly(consumer, self._config.request_timeout_seconds)
        if dlq is not None:
            await close_quietly(dlq, 5.0)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commits what was applied before partitions move to another member."""

    def __init__(self, owner: Consumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._owner._commit(list(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if assigned:
            self._owner.assigned.set()
