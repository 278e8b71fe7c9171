"""Consumers against the real broker: apply once, commit after apply, dead letters, context."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from mesh import context
from mesh.events import Consumer, Delivery, EventsConfig, Producer, Topic, mark_processed
from mesh.store import Database
from tests.conftest import eventually
from tests.integration.events.helpers import read_to_end, trade


def group() -> str:
    return f"group-{uuid.uuid4().hex[:8]}"


async def publish(config: EventsConfig, topic: Topic, count: int, key: str = "p-1") -> list[str]:
    ids = []
    async with Producer(config, source="test") as producer:
        for n in range(count):
            event = trade(key, n)
            await producer.send(topic, event, key=key)
            ids.append(event.event_id)
    return ids


async def test_each_event_is_applied_once_even_when_delivered_twice(
    db: Database, config: EventsConfig, topic: Topic
) -> None:
    calls: Counter[str] = Counter()

    async def apply(delivery: Delivery) -> None:
        calls[delivery.event_id] += 1
        async with db.transaction(write=True) as tx:
            if await mark_processed(tx, "portfolio", delivery.event_id):
                await tx.execute(
                    "INSERT INTO applied (event_id, portfolio_id, applied_at) VALUES (?, ?, 0)",
                    (delivery.event_id, delivery.key),
                )

    ids = await publish(config, topic, 10)
    # The same records again, as a relay republishing after a crash would send them.
    raw = AIOKafkaProducer(bootstrap_servers=config.bootstrap_servers)
    await raw.start()
    try:
        for record in await read_to_end(config, topic.name, topic.partitions):
            await raw.send_and_wait(
                topic.name, value=record.value, key=record.key, headers=list(record.headers)
            )
    finally:
        await raw.stop()

    registry = CollectorRegistry()
    async with Consumer(config, group(), [topic], apply, registry=registry):
        await eventually(lambda: _total(calls, 20), what="both copies handled")

    async with db.transaction() as tx:
        rows = await tx.fetchall("SELECT event_id, portfolio_id FROM applied")
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert {r[1] for r in rows} == {"p-1"}
    assert set(calls.values()) == {2}
    applied = registry.get_sample_value(
        "trademesh_consumer_applied_total", {"group": _group_of(registry), "topic": topic.name}
    )
    assert applied == 20


def _group_of(registry: CollectorRegistry) -> str:
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name == "trademesh_consumer_applied_total":
                return str(sample.labels["group"])
    raise AssertionError("no consumer_applied sample")


async def _total(calls: Counter[str], want: int) -> bool:
    return sum(calls.values()) >= want


async def test_a_consumer_stopped_mid_batch_resumes_where_it_left_off(
    config: EventsConfig, topic: Topic
) -> None:
    ids = await publish(config, topic, 30)  # one key: one partition, in order
    name = group()
    first_seen: list[tuple[int, str]] = []
    blocked = asyncio.Event()

    async def stuck_at_tenth(delivery: Delivery) -> None:
        if len(first_seen) == 9:
            blocked.set()
            await asyncio.Event().wait()  # never returns: stopped mid-handler
        first_seen.append((delivery.offset, delivery.event_id))

    consumer = Consumer(config, name, [topic], stuck_at_tenth)
    await consumer.start()
    await asyncio.wait_for(blocked.wait(), 30)
    await consumer.stop()
    assert [i for _, i in first_seen] == ids[:9]

    second_seen: list[tuple[int, str]] = []

    async def record(delivery: Delivery) -> None:
        second_seen.append((delivery.offset, delivery.event_id))

    async with Consumer(config, name, [topic], record):
        await eventually(lambda: _length(second_seen, 21), what="the rest delivered")
    # Nothing applied twice, nothing skipped: the tenth (whose handler never returned) is
    # the first record the second consumer sees.
    assert [i for _, i in second_seen] == ids[9:]
    assert second_seen[0][0] == first_seen[-1][0] + 1


async def _length(items: list[Any], want: int) -> bool:
    return len(items) >= want


async def test_poison_records_go_to_the_dlq_and_consumption_continues(
    config: EventsConfig, topic: Topic
) -> None:
    raw = AIOKafkaProducer(bootstrap_servers=config.bootstrap_servers)
    await raw.start()
    try:
        await raw.send_and_wait(
            topic.name, value=b"\xff\xfe not protobuf", key=b"p-1", headers=[("x", b"1")]
        )
    finally:
        await raw.stop()
    ids = await publish(config, topic, 3)
    failing = ids[1]
    seen: list[str] = []
    attempts: Counter[str] = Counter()

    async def handler(delivery: Delivery) -> None:
        attempts[delivery.event_id] += 1
        if delivery.event_id == failing:
            raise ValueError("portfolio p-1 does not exist")
        seen.append(delivery.event_id)

    registry = CollectorRegistry()
    async with Consumer(config, group(), [topic], handler, registry=registry):
        await eventually(lambda: _length(seen, 2), what="the good records applied")
    assert seen == [ids[0], ids[2]]
    assert attempts[failing] == config.consumer_max_attempts

    letters = await read_to_end(config, topic.dlq, topic.partitions)
    assert len(letters) == 2
    garbage, failed = sorted(letters, key=lambda r: int(dict(r.headers)["dlq-original-offset"]))
    g = {k: v.decode() for k, v in garbage.headers}
    assert garbage.value == b"\xff\xfe not protobuf" and garbage.key == b"p-1"
    assert g["dlq-original-topic"] == topic.name
    assert g["dlq-original-offset"] == "0"
    assert g["dlq-original-key"] == "p-1"
    assert g["dlq-error"].startswith("undecodable: value is not a trademesh.trading.v1")
    assert g["dlq-attempts"] == "0"
    assert g["x"] == "1"
    f = {k: v.decode() for k, v in failed.headers}
    assert f["ce_id"] == failing
    assert f["dlq-error"] == "ValueError: portfolio p-1 does not exist"
    assert f["dlq-attempts"] == str(config.consumer_max_attempts)
    assert f["dlq-original-offset"] == "2"
    assert int(f["dlq-original-partition"]) == failed.partition
    for reason in ("decode", "handler"):
        assert (
            registry.get_sample_value(
                "trademesh_consumer_dead_lettered_total",
                {"group": _group_of(registry), "topic": topic.name, "reason": reason},
            )
            == 1
        )


async def test_the_handler_runs_in_the_records_correlation_and_trace_context(
    config: EventsConfig, topic: Topic
) -> None:
    tracer = TracerProvider().get_tracer("test")
    async with Producer(config, source="test") as producer:
        with (
            context.bind(correlation_id="cid-from-the-call"),
            tracer.start_as_current_span("PlaceOrder") as span,
        ):
            await producer.send(topic, trade(), key="p-1")
    trace_id = span.get_span_context().trace_id
    seen: list[tuple[str, int]] = []

    async def handler(delivery: Delivery) -> None:
        current = trace.get_current_span().get_span_context()
        seen.append((context.current().correlation_id, current.trace_id))

    async with Consumer(config, group(), [topic], handler):
        await eventually(lambda: _length(seen, 1), what="delivery")
    assert seen == [("cid-from-the-call", trace_id)]


async def test_a_broadcast_consumer_sees_every_partition_in_every_instance(
    config: EventsConfig, topic: Topic
) -> None:
    ids = []
    for key in ("p-1", "p-2", "p-3", "p-4"):
        ids += await publish(config, topic, 2, key=key)
    first: list[str] = []
    second: list[str] = []

    async def to(sink: list[str]) -> Any:
        async def handler(delivery: Delivery) -> None:
            sink.append(delivery.event_id)

        return handler

    async with (
        Consumer(config, None, [topic], await to(first)),
        Consumer(config, None, [topic], await to(second)),
    ):
        await eventually(lambda: _length(first, 8), what="first instance")
        await eventually(lambda: _length(second, 8), what="second instance")
    assert sorted(first) == sorted(second) == sorted(ids)
