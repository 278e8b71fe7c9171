"""Assemble the notification service from its config: store, feed, hub, consumers, servicer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import grpc
from prometheus_client import CollectorRegistry
from trademesh.notification.v1 import notification_pb2, notification_pb2_grpc

from mesh.events import Consumer, EventsConfig, Topic, ensure_topics
from mesh.lifecycle import Lifecycle
from mesh.server import Servicer, ServiceSpec
from mesh.store import Database, open_database
from services.notification.config import NotificationConfig
from services.notification.consumers import CONSUMER, SOURCE_TOPICS, FanOut, FeedWriter
from services.notification.feed import Feed
from services.notification.hub import Hub
from services.notification.maintenance import Maintenance
from services.notification.servicer import NotificationServicer
from services.notification.store import NotificationStore

logger = logging.getLogger(__name__)

SERVICE = "notification"


class TopicsCheck(Lifecycle):
    """Creates the source topics (and their DLQs) at start-up when missing. Kafka being
    unreachable is logged, not fatal: the consumers keep connecting in the background."""

    def __init__(
        self, events: EventsConfig, topics: Sequence[Topic], *, timeout_seconds: float
    ) -> None:
        self._events = events
        self._topics = topics
        self._timeout = timeout_seconds

    async def start(self) -> None:
        try:
            await ensure_topics(self._events, self._topics, timeout_seconds=self._timeout)
        except (Exception, TimeoutError) as exc:
            logger.warning("Kafka topics could not be checked at start-up: %s", exc)


@dataclass(slots=True)
class Notifications(Lifecycle):
    """The assembled service. Its `workers` (topic check, consumers, maintenance) run under
    the server (`service_spec`) or under `start()`/`stop()` when embedded; `close()` stops
    them and closes the store. All safe to call twice."""

    config: NotificationConfig
    store: NotificationStore
    hub: Hub
    feed: Feed
    servicer: NotificationServicer
    workers: Sequence[Lifecycle] = ()
    _stack: AsyncExitStack | None = field(default=None, repr=False)

    def service_spec(
        self,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
        *,
        workers: Sequence[Lifecycle] = (),
    ) -> ServiceSpec:
        """What the server bootstrap runs: the servicer, `workers` and then the service's
        own, and the store to close after draining."""
        return ServiceSpec(
            name=SERVICE,
            servicers=[
                Servicer(
                    add_to_server=notification_pb2_grpc.add_NotificationServiceServicer_to_server,
                    implementation=self.servicer,
                    full_name=notification_pb2.DESCRIPTOR.services_by_name[
                        "NotificationService"
                    ].full_name,
                )
            ],
            interceptors=interceptors,
            workers=(*workers, *self.workers),
            on_stop=(self.close,),
        )

    async def start(self) -> None:
        if self._stack is not None:
            return
        async with AsyncExitStack() as stack:
            for worker in self.workers:
                await stack.enter_async_context(worker)
            self._stack = stack.pop_all()

    async def stop(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def close(self) -> None:
        try:
            await self.stop()
        finally:
            await self.store.close()


def workers(
    config: NotificationConfig,
    events: EventsConfig,
    store: NotificationStore,
    hub: Hub,
    *,
    registry: CollectorRegistry | None = None,
    topics: Sequence[Topic] = SOURCE_TOPICS,
    now: Callable[[], float] = time.time,
) -> list[Lifecycle]:
    """The topic check; the feed writer (the service's consumer group); this instance's
    fan-out reader (no group, from the latest offset) behind its hand-overs; the periodic
    maintenance."""
    fan_out = FanOut(hub, store, store_wait_seconds=config.stream_store_wait_seconds)
    return [
        TopicsCheck(events, topics, timeout_seconds=config.topics_timeout_seconds),
        Consumer(events, CONSUMER, topics, FeedWriter(store), registry=registry),
        fan_out,  # stopped after its consumer: no hand-over starts once it is stopped
        Consumer(events, None, topics, fan_out, auto_offset_reset="latest", registry=registry),
        Maintenance(
            store,
            interval_seconds=config.maintenance_interval_seconds,
            notification_retention_seconds=config.retention_days * 86400,
            processed_retention_seconds=events.processed_retention_seconds,
            now=now,
        ),
    ]


async def build_notifications(
    config: NotificationConfig,
    events: EventsConfig | None = None,
    *,
    database: Database | None = None,
    registry: CollectorRegistry | None = None,
    topics: Sequence[Topic] = SOURCE_TOPICS,
    now: Callable[[], float] = time.time,
) -> Notifications:
    """Open and migrate the store and wire the feed. With `events`, the workers reading
    `topics` are made (nothing connects until they start); without, the feed is fed by hand
    (tests). `database` replaces the one `config` names. On failure the store is closed
    again."""
    if database is None:
        database = open_database(
            config.database_url,
            config.sqlite_path,
            name=SERVICE,
            max_connections=config.database_max_connections,
        )
    store = NotificationStore(database)
    try:
        await store.migrate()
    except BaseException:
        await store.close()
        raise
    hub = Hub(
        buffer_size=config.stream_buffer_size,
        max_watchers_per_user=config.max_streams_per_user,
    )
    feed = Feed(store, hub, default_page_size=config.default_page_size, now=now)
    made = (
        []
        if events is None
        else workers(config, events, store, hub, registry=registry, topics=topics, now=now)
    )
    return Notifications(
        config=config,
        store=store,
        hub=hub,
        feed=feed,
        servicer=NotificationServicer(feed),
        workers=made,
    )
