"""The outbox relay: publishes committed outbox rows to Kafka in order, then marks them sent."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError
from prometheus_client import CollectorRegistry

from mesh.events._kafka import close_quietly, new_producer, start_or_close
from mesh.events._leader import FileLock, advisory_lock_id, try_advisory_lock
from mesh.events.config import EventsConfig
from mesh.events.metrics import event_metrics
from mesh.events.outbox import prune_processed
from mesh.events.topics import Topic, ensure_topics
from mesh.lifecycle import Lifecycle
from mesh.store import Database, Transaction

logger = logging.getLogger(__name__)

_SELECT_BATCH = (
    "SELECT seq, event_id, topic, event_key, payload, headers FROM outbox "
    "WHERE published_at IS NULL ORDER BY seq LIMIT ?"
)
_MAINTENANCE_INTERVAL_SECONDS = 60.0


class PublishFailed(Exception):
    """A round could not publish every row it read; the rest stay for the next round."""


class OutboxRelay(Lifecycle):
    """Publishes the outbox of one service's database; one per service process.

    Delivery is at-least-once, and consumers are idempotent by event id: a row is marked
    sent (`published_at`) only after the broker acknowledged it (idempotent producer,
    `acks=all`), so a crash between the two publishes it again. While Kafka is down the rows
    stay and the relay retries with backoff; nothing is lost.

    Rows go out in `seq` order, each keyed as enqueued, so the events of one key reach its
    partition in the order they were enqueued. (Transactions that enqueue for the same key
    must be serialised by the state change they go with, e.g. both update the entity's row;
    otherwise their commit order, not their `seq`, is the order.) A row is marked sent only
    with every row before it in the batch, so after a publish that failed partway the relay
    resends from the first unacknowledged row; should a later row have reached the broker
    regardless, it arrives once more after the earlier one. Consumers skip the repeat by
    event id; one that must never see an older state after a newer one compares the
    event's own version or time. With several instances of a service on one database only
    one relay publishes at a time (a PostgreSQL advisory lock per source; for SQLite a lock
    file beside the database).

    `wake()` after a commit publishes at once; otherwise the relay polls every
    `relay_poll_interval_seconds`. Published rows older than `outbox_retention_seconds` and
    processed event ids older than `processed_retention_seconds` are deleted as it goes.
    `stop()` makes one last bounded attempt to publish what is pending; a round cancelled
    mid-publish leaves its rows unmarked, to be published (again) later.

    `topics` (the ones this service publishes to) are created with `ensure_topics` before
    the first publish, retried like a publish while Kafka is unreachable.

        relay = OutboxRelay(db, events, source="trading", topics=[ORDERS, TRADES])
        ServiceSpec(..., workers=(relay, ...), on_stop=(db.close,))
    """

    def __init__(
        self,
        db: Database,
        config: EventsConfig,
        *,
        source: str,
        topics: Sequence[Topic] = (),
        registry: CollectorRegistry | None = None,
    ) -> None:
        if not source:
            raise ValueError("source (the publishing service's name) must not be empty")
        self._db = db
        self._config = config
        self._source = source
        self._metrics = event_metrics(registry)
        self._lock_id = advisory_lock_id(source)
        self._file_lock = FileLock.beside(db)
        self._wakeup = asyncio.Event()
        self._round_lock = asyncio.Lock()
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._next_maintenance = 0.0
        self._topics = tuple(topics)
        self._topics_ready = not self._topics
        self._stopped = False
        # Besides cancelling the loop: a driver may swallow a cancellation (asyncio.wait_for
        # before Python 3.12 can), and the loop must still end.
        self._stopping = asyncio.Event()

    @property
    def source(self) -> str:
        return self._source

    async def start(self) -> None:
        if self._task is not None or self._stopped:
            return
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._source}")

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        self._wakeup.set()
        task, self._task = self._task, None
        try:
            if task is not None:
                task.cancel()
                await asyncio.wait([task])
                await self._final_flush()
        finally:
            await self._close_producer()
            self._file_lock.release()

    def wake(self) -> None:
        """Publish soon: call after committing a transaction that enqueued events."""
        self._wakeup.set()

    async def flush(self, timeout_seconds: float = 10.0) -> bool:
        """Publish everything pending now; True when the outbox has nothing left to send.

        False when the time ran out, Kafka did not acknowledge, or another instance holds
        the publishing lock (its relay sends the rows).
        """
        try:
            async with asyncio.timeout(timeout_seconds):
                while await self._round() == self._config.relay_batch_size:
                    pass
        except (TimeoutError, PublishFailed):
            return False
        return await self.pending() == 0

    async def pending(self) -> int:
        """Rows not yet marked sent."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
        count = int(row[0]) if row else 0
        self._metrics.outbox_pending.labels(self._source).set(count)
        return count

    async def _final_flush(self) -> None:
        timeout = min(self._config.request_timeout_seconds, 5.0)
        try:
            if not await self.flush(timeout):
                logger.warning("%s: outbox rows left unsent at stop", self._source)
        except Exception:
            logger.warning("%s: final outbox flush failed", self._source, exc_info=True)

    async def _run(self) -> None:
        delay = self._config.relay_backoff_initial_seconds
        while not self._stopping.is_set():
            try:
                sent = await self._round()
                await self._maintain()
            except Exception as exc:
                self._metrics.outbox_publish_failures.labels(self._source).inc()
                logger.warning(
                    "%s: outbox relay round failed (%s); retrying in %.1fs",
                    self._source,
                    exc,
                    delay,
                    exc_info=not isinstance(exc, PublishFailed),
                )
                await self._pause(delay)
                delay = min(delay * 2, self._config.relay_backoff_max_seconds)
                continue
            delay = self._config.relay_backoff_initial_seconds
            if sent < self._config.relay_batch_size:
                await self._idle()

    async def _idle(self) -> None:
        try:
            async with asyncio.timeout(self._config.relay_poll_interval_seconds):
                await self._wakeup.wait()
        except TimeoutError:
            pass
        self._wakeup.clear()

    async def _pause(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        except TimeoutError:
            pass

    async def _round(self) -> int:
        """Publish one batch; returns how many rows were marked sent."""
        async with self._round_lock:
            self._wakeup.clear()
            if self._db.dialect == "postgresql":
                # The lock lives as long as this transaction, which spans the publish, so
                # no other instance reads these rows before they are marked.
                async with self._db.transaction(write=True) as tx:
                    if not await try_advisory_lock(tx, self._lock_id):
                        return 0
                    rows = await tx.fetchall(_SELECT_BATCH, (self._config.relay_batch_size,))
                    if not rows:
                        return 0
                    sent, error = await self._publish(rows)
                    await self._mark(tx, rows, sent, error)
                return self._settle(rows, sent, error)
            if not self._file_lock.try_acquire():
                return 0
            async with self._db.transaction() as tx:
                rows = await tx.fetchall(_SELECT_BATCH, (self._config.relay_batch_size,))
            if not rows:
                return 0
            # SQLite has one writer: the write transaction is opened only once Kafka
            # acknowledged, so the service's own writes never wait on the broker.
            sent, error = await self._publish(rows)
            async with self._db.transaction(write=True) as tx:
                await self._mark(tx, rows, sent, error)
            return self._settle(rows, sent, error)

    def _settle(self, rows: Sequence[Any], sent: int, error: str | None) -> int:
        for row in rows[:sent]:
            self._metrics.outbox_published.labels(self._source, row[2]).inc()
        if error is not None:
            raise PublishFailed(error)
        return sent

    async def _publish(self, rows: Sequence[Any]) -> tuple[int, str | None]:
        """Send `rows` in order; returns how many, from the first, the broker acknowledged
        and the error that stopped the rest."""
        try:
            producer = await self._connected()
            async with asyncio.timeout(self._config.request_timeout_seconds * 2):
                futures = []
                for _seq, _event_id, topic, key, payload, headers_json in rows:
                    headers = [(k, v.encode()) for k, v in json.loads(headers_json).items()]
                    headers.append(("ce_source", self._source.encode()))
                    futures.append(
                        await producer.send(
                            topic, value=bytes(payload), key=key.encode(), headers=headers
                        )
                    )
                results = await asyncio.gather(*futures, return_exceptions=True)
        except asyncio.CancelledError:
            await self._close_producer()
            raise
        except Exception as exc:
            await self._close_producer()
            return 0, _describe(exc)
        for index, result in enumerate(results):
            if isinstance(result, BaseException):
                # The producer may have later records in flight; a fresh one starts clean.
                await self._close_producer()
                return index, _describe(result)
        return len(rows), None

    async def _mark(
        self, tx: Transaction, rows: Sequence[Any], sent: int, error: str | None
    ) -> None:
        seqs = [row[0] for row in rows[:sent]]
        if seqs:
            marks = ", ".join("?" for _ in seqs)
            await tx.execute(
                f"UPDATE outbox SET published_at = ?, attempts = attempts + 1 "
                f"WHERE seq IN ({marks})",
                (time.time(), *seqs),
            )
        if error is not None and sent < len(rows):
            await tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
                (error[:1000], rows[sent][0]),
            )

    async def _maintain(self) -> None:
        now = time.monotonic()
        if now < self._next_maintenance:
            return
        self._next_maintenance = now + min(
            _MAINTENANCE_INTERVAL_SECONDS, self._config.outbox_retention_seconds
        )
        async with self._db.transaction(write=True) as tx:
            await tx.execute(
                "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < ?",
                (time.time() - self._config.outbox_retention_seconds,),
            )
            await prune_processed(tx, self._config.processed_retention_seconds)
        await self.pending()

    async def _connected(self) -> AIOKafkaProducer:
        if not self._topics_ready:
            await ensure_topics(
                self._config, self._topics, timeout_seconds=self._config.request_timeout_seconds
            )
            self._topics_ready = True
        if self._producer is None:
            producer = new_producer(self._config, f"{self._source}-relay")
            async with asyncio.timeout(self._config.request_timeout_seconds):
                await start_or_close(producer)
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await close_quietly(producer, min(self._config.request_timeout_seconds, 5.0))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | KafkaTimeoutError):
        return "Kafka did not acknowledge in time"
    return f"{type(exc).__name__}: {exc}"
