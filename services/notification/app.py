"""Assemble the notification service from its config: store, feed, hub, consumers, servicer."""

from __future__ import annotations

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

SERVICE = "notification"


@dataclass(slots=True)
class Notifications(Lifecycle):
    """The assembled service. `start()` begins consuming events (when an events config was
    given); `close()` stops consuming and closes the store; both safe to call twice."""

    config: NotificationConfig
    store: NotificationStore
    hub: Hub
    feed: Feed
    servicer: NotificationServicer
    consumers: Sequence[Lifecycle] = ()
    events: EventsConfig | None = None
    topics: Sequence[Topic] = SOURCE_TOPICS
    _stack: AsyncExitStack | None = field(default=None, repr=False)

    def service_spec(self, interceptors: Sequence[grpc.aio.ServerInterceptor] = ()) -> ServiceSpec:
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
            on_stop=(self.close,),
        )

    async def start(self) -> None:
        if self._stack is not None:
            return
        async with AsyncExitStack() as stack:
            if self.events is not None and self.consumers:
                await ensure_topics(self.events, self.topics)
            for consumer in self.consumers:
                await stack.enter_async_context(consumer)
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


def consumers(
    events: EventsConfig,
    store: NotificationStore,
    hub: Hub,
    *,
    registry: CollectorRegistry | None = None,
    topics: Sequence[Topic] = SOURCE_TOPICS,
    extra: Sequence[Lifecycle] = (),
) -> list[Lifecycle]:
    """The feed writer (the service's consumer group) and this instance's fan-out reader."""
    return [
        Consumer(events, CONSUMER, topics, FeedWriter(store), registry=registry),
        Consumer(events, None, topics, FanOut(hub), auto_offset_reset="latest", registry=registry),
        *extra,
    ]


async def build_notifications(
    config: NotificationConfig,
    events: EventsConfig | None = None,
    *,
    database: Database | None = None,
    registry: CollectorRegistry | None = None,
    topics: Sequence[Topic] = SOURCE_TOPICS,
    extra_consumers: Sequence[Lifecycle] = (),
    now: Callable[[], float] = time.time,
) -> Notifications:
    """Open and migrate the store and wire the feed. With `events`, the Kafka consumers of
    `topics` and the periodic maintenance are made (started by `start()`), with
    `extra_consumers` after them; without, the feed is fed by hand (tests). `database`
    replaces the one `config` names. On failure the store is closed again."""
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
    made: list[Lifecycle] = []
    if events is not None:
        upkeep = Maintenance(
            store,
            interval_seconds=config.maintenance_interval_seconds,
            notification_retention_seconds=config.retention_days * 86400,
            processed_retention_seconds=events.processed_retention_seconds,
            now=now,
        )
        made = consumers(
            events, store, hub, registry=registry, topics=topics, extra=[upkeep, *extra_consumers]
        )
    return Notifications(
        config=config,
        store=store,
        hub=hub,
        feed=feed,
        servicer=NotificationServicer(feed),
        consumers=made,
        events=events,
        topics=topics,
    )
