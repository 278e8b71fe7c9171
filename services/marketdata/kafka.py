"""The quotes topic's producer, connected on first use so that Kafka being down at start-up
delays quotes on the topic but never the service."""

from __future__ import annotations

import asyncio
import contextlib

from google.protobuf.message import Message
from prometheus_client import CollectorRegistry

from mesh.events import QUOTES, EventsConfig, Producer, Topic, ensure_topics
from mesh.lifecycle import Lifecycle


class LazyProducer(Lifecycle):
    """`send` creates the quotes topic and starts the direct producer the first time it is
    needed; a failed attempt raises and the next `send` tries again."""

    def __init__(
        self,
        config: EventsConfig,
        *,
        source: str,
        registry: CollectorRegistry | None = None,
        topics: tuple[Topic, ...] = (QUOTES,),
    ) -> None:
        self._config = config
        self._source = source
        self._registry = registry
        self._topics = topics
        self._producer: Producer | None = None
        self._lock = asyncio.Lock()
        self._stopped = False
        self._attempts = 0
        self._last_error: BaseException | None = None

    async def _ready(self) -> Producer:
        if self._producer is not None:
            return self._producer
        attempt = self._attempts
        async with self._lock:
            if self._stopped:
                raise RuntimeError("the quotes producer is stopped")
            if self._producer is not None:
                return self._producer
            if self._attempts != attempt and self._last_error is not None:
                # Someone failed to connect while this send waited: fail with them rather
                # than queue one more attempt behind theirs.
                raise self._last_error
            self._attempts += 1
            try:
                self._producer = await self._connect()
            except Exception as exc:
                self._last_error = exc
                raise
            return self._producer

    async def _connect(self) -> Producer:
        timeout = self._config.request_timeout_seconds
        await ensure_topics(self._config, self._topics, timeout_seconds=timeout)
        producer = Producer(self._config, source=self._source, registry=self._registry)
        try:
            await producer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await producer.stop()
            raise
        return producer

    async def send(self, topic: Topic, event: Message, key: str) -> None:
        producer = await self._ready()
        await producer.send(topic, event, key)

    async def stop(self) -> None:
        async with self._lock:
            self._stopped = True
            producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()
