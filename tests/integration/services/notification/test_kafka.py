"""The feed built from real events on the real Kafka broker: published with `mesh.events`,
stored once by the consumer group, streamed by every instance, poison records dead-lettered.

Each test gets its own copies of the source topics (random suffix), so tests and other
suites sharing the broker never see each other's records.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from google.protobuf.message import Message
from trademesh.notification.v1 import notification_pb2 as pb
from trademesh.trading.v1 import trading_pb2

from mesh.events import Consumer, EventsConfig, Producer, Topic
from mesh.infra import Kafka
from mesh.tokens.revocations import RevokedSessions
from services.notification import NotificationConfig, Notifications, build_notifications
from services.notification.consumers import SOURCE_TOPICS, FanOut
from tests.conftest import eventually
from tests.unit.services._mesh import Signer
from tests.unit.services.notification import events
from tests.unit.services.notification.conftest import Identity, Inbox, Served, User, serving

TIMEOUT = 60.0


@dataclasses.dataclass
class Bus:
    events: EventsConfig
    topics: dict[str, Topic]  # by the name of the table's topic they copy
    producer: Producer

    def topic_of(self, event: Message) -> Topic:
        name = event.DESCRIPTOR.full_name
        (topic,) = [t for t in self.topics.values() if t.event_type == name]
        return topic

    async def publish(self, *messages: Message, key: str = "key-1") -> None:
        for message in messages:
            await self.producer.send(self.topic_of(message), message, key=key)


@pytest_asyncio.fixture
async def bus(kafka: Kafka) -> AsyncIterator[Bus]:
    suffix = uuid.uuid4().hex[:10]
    config = EventsConfig(
        bootstrap_servers=kafka.address,
        client_id=f"notification-test-{suffix}",
        consumer_max_attempts=2,
        consumer_backoff_initial_seconds=0.05,
        consumer_backoff_max_seconds=0.1,
    )
    topics = {t.name: dataclasses.replace(t, name=f"{t.name}.{suffix}") for t in SOURCE_TOPICS}
    async with Producer(config, source="notification-test") as producer:
        yield Bus(config, topics, producer)


@pytest.fixture
def database(database_url: str | None, tmp_path: Path) -> NotificationConfig:
    """Where every instance of a test keeps the feed: SQLite, then PostgreSQL."""
    return NotificationConfig(
        database_url=database_url, sqlite_path=tmp_path / "notification.sqlite3"
    )


@asynccontextmanager
async def instance(
    bus: Bus,
    config: NotificationConfig,
    signer: Signer,
    *,
    writer: bool = True,
) -> AsyncIterator[tuple[Notifications, Served]]:
    """One service instance on the shared database, serving gRPC. Without `writer` it only
    streams: it reads the topics for its watchers but stores nothing."""
    async with AsyncExitStack() as stack:
        topics = list(bus.topics.values())
        if writer:
            app = await build_notifications(config, bus.events, topics=topics)
        else:
            app = await build_notifications(config)
            # It waits for the writer instance to store each notification before streaming it.
            fan_out = FanOut(app.hub, app.store)
            app.workers = [
                fan_out,
                Consumer(bus.events, None, topics, fan_out, auto_offset_reset="latest"),
            ]
        stack.push_async_callback(app.close)
        await app.start()
        for consumer in app.workers:
            if isinstance(consumer, Consumer):
                await asyncio.wait_for(consumer.assigned.wait(), TIMEOUT)
        served = await stack.enter_async_context(serving(app, signer, RevokedSessions()))
        yield app, served


async def listed(served: Served, user: User, **kwargs: Any) -> pb.ListNotificationsResponse:
    response: pb.ListNotificationsResponse = await served.stub.ListNotifications(
        pb.ListNotificationsRequest(page_size=1000, **kwargs), metadata=user.metadata
    )
    return response


async def titles_of(served: Served, user: User) -> list[str]:
    return [n.title for n in (await listed(served, user)).notifications]


async def primed_stream(bus: Bus, served: Served, user: User) -> Inbox:
    """A stream of `user`'s notifications, proven live: the fan-out reader starts at the
    latest offset once it has its partitions, so events are published until one arrives."""
    inbox = Inbox(
        served.stub.StreamNotifications(pb.StreamNotificationsRequest(), metadata=user.metadata)
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while True:
        await bus.publish(events.portfolio(user.user_id, 1, name="Primer"))
        try:
            got = await inbox.next(1.0)
        except TimeoutError:
            assert loop.time() < deadline, "the stream never received the primer"
            continue
        assert got.title == "Portfolio Primer created"
        break
    # Primers published while waiting may still be on their way; skip past them.
    await bus.publish(events.session(user.user_id))
    while (await inbox.next(TIMEOUT)).title != "Signed out":
        pass
    return inbox


async def test_published_events_become_notifications_once(
    bus: Bus,
    database: NotificationConfig,
    signer: Signer,
    identity: Identity,
) -> None:
    ada, bob = identity.user(), identity.user()
    async with instance(bus, database, signer) as (_app, served):
        trade = events.trade(ada.user_id, symbol="AAPL")
        await bus.publish(
            trade,
            events.order(ada.user_id, trading_pb2.ORDER_STATUS_REJECTED, reject_reason="no cash"),
            events.order(ada.user_id, trading_pb2.ORDER_STATUS_OPEN),  # makes none
            events.trade(bob.user_id, symbol="TSLA"),
            events.session(ada.user_id),
        )
        await bus.publish(trade)  # redelivered by a producer retry, say
        sentinel = events.trade(ada.user_id, symbol="LAST")
        await bus.publish(sentinel)  # same key, same partition: after the duplicate

        expected = sorted(
            [
                "Bought 10 AAPL at 189.20",
                "Order rejected: Sell 5 MSFT",
                "Signed out",
                "Bought 10 LAST at 189.20",
            ]
        )

        async def all_there() -> bool:
            # Topics are applied independently; within the trades partition the duplicate
            # comes before LAST, so once LAST is stored the duplicate has been skipped.
            return sorted(await titles_of(served, ada)) == expected

        await eventually(all_there, timeout=TIMEOUT, what="ada's notifications, each once")

        async def bobs() -> bool:
            return await titles_of(served, bob) == ["Bought 10 TSLA at 189.20"]

        await eventually(bobs, timeout=TIMEOUT, what="bob's notification")


async def test_a_stream_on_another_instance_sees_what_the_writer_stored(
    bus: Bus,
    database: NotificationConfig,
    signer: Signer,
    identity: Identity,
) -> None:
    ada = identity.user()
    async with (
        instance(bus, database, signer) as (_writer, writer_served),
        instance(bus, database, signer, writer=False) as (_reader, reader_served),
    ):
        inbox = await primed_stream(bus, reader_served, ada)
        sent = [events.trade(ada.user_id, symbol=s) for s in ("AMD", "NVDA", "INTC")]
        await bus.publish(*sent)
        streamed = [await inbox.next(TIMEOUT) for _ in sent]
        assert [n.title for n in streamed] == [
            "Bought 10 AMD at 189.20",
            "Bought 10 NVDA at 189.20",
            "Bought 10 INTC at 189.20",
        ]

        # The streamed notifications are the stored ones: same ids, same text, same time.
        async def stored() -> bool:
            ids = {n.notification_id for n in (await listed(writer_served, ada)).notifications}
            return {n.notification_id for n in streamed} <= ids

        await eventually(stored, timeout=TIMEOUT, what="the writer stored them")
        by_id = {n.notification_id: n for n in (await listed(reader_served, ada)).notifications}
        for notification in streamed:
            assert by_id[notification.notification_id] == notification
        inbox.close()


async def test_poison_records_go_to_the_dlq_and_consumption_continues(
    bus: Bus,
    database: NotificationConfig,
    signer: Signer,
    identity: Identity,
) -> None:
    ada = identity.user()
    trades = bus.topic_of(events.trade(ada.user_id))
    async with instance(bus, database, signer) as (_app, served):
        raw = AIOKafkaProducer(bootstrap_servers=bus.events.bootstrap_servers)
        await raw.start()
        try:
            await raw.send_and_wait(
                trades.name,
                b"\xff\xfe not protobuf",
                key=b"key-1",
                headers=[("ce_type", trades.event_type.encode())],
            )
        finally:
            await raw.stop()
        nobody = events.trade(ada.user_id)
        nobody.trade.user_id = ""  # decodes, but names no one to notify
        await bus.publish(nobody, events.trade(ada.user_id, symbol="AFTER"))

        async def applied() -> bool:
            return await titles_of(served, ada) == ["Bought 10 AFTER at 189.20"]

        await eventually(applied, timeout=TIMEOUT, what="the record after the poison applied")

    dead = AIOKafkaConsumer(
        trades.dlq,
        bootstrap_servers=bus.events.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await dead.start()
    letters: list[Any] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while len(letters) < 3 and loop.time() < deadline:
            batches = await dead.getmany(timeout_ms=500)
            letters += [record for records in batches.values() for record in records]
    finally:
        await dead.stop()
    # The consumer group's letters; each instance's broadcast reader may add its own for an
    # undecodable record.
    letters = [r for r in letters if dict(r.headers)["dlq-consumer"] == b"notification"]
    assert len(letters) == 2
    errors = sorted(dict(r.headers)["dlq-error"].decode() for r in letters)
    assert errors[0].startswith("BadEvent") and "without user id" in errors[0]
    assert errors[1].startswith("undecodable")
    assert {dict(r.headers)["dlq-original-topic"].decode() for r in letters} == {trades.name}
