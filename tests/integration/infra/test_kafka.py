"""The real Kafka broker (KRaft): topics, keys and headers, committed offsets across restarts."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from mesh.infra import Kafka
from tests.conftest import eventually


async def _create_topic(kafka: Kafka, partitions: int = 1) -> str:
    topic = f"test.{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.address)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1)]
        )

        async def listed() -> bool:
            # The controller answers before the broker's metadata cache has the topic.
            return topic in await admin.list_topics()

        await eventually(listed, what=f"topic {topic} in the broker's metadata")
    finally:
        await admin.close()
    return topic


async def _consume(
    consumer: AIOKafkaConsumer, count: int
) -> list[tuple[bytes, bytes, dict[str, bytes]]]:
    out: list[tuple[bytes, bytes, dict[str, bytes]]] = []
    while len(out) < count:
        batches = await consumer.getmany(timeout_ms=10_000, max_records=count - len(out))
        assert batches, f"no records within 10s after {len(out)} of {count}"
        for records in batches.values():
            out.extend((r.key, r.value, dict(r.headers)) for r in records)
    return out


def _consumer(kafka: Kafka, topic: str, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.address,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


async def test_broker_reports_ready(kafka: Kafka) -> None:
    status = await kafka.status()
    assert status.healthy, status.detail


async def test_produce_consume_with_keys_headers_and_resume_from_commit(kafka: Kafka) -> None:
    topic = await _create_topic(kafka)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.address, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for i in range(6):
            await producer.send_and_wait(
                topic,
                key=f"user-{i % 2}".encode(),
                value=f"event-{i}".encode(),
                headers=[("x-correlation-id", f"cid-{i}".encode())],
            )
    finally:
        await producer.stop()

    group = f"group-{uuid.uuid4().hex[:8]}"
    first = _consumer(kafka, topic, group)
    await first.start()
    try:
        got = await _consume(first, 3)
        await first.commit()
    finally:
        await first.stop()
    assert [v for _, v, _ in got] == [b"event-0", b"event-1", b"event-2"]
    assert [k for k, _, _ in got] == [b"user-0", b"user-1", b"user-0"]
    assert [h["x-correlation-id"] for _, _, h in got] == [b"cid-0", b"cid-1", b"cid-2"]

    second = _consumer(kafka, topic, group)
    await second.start()
    try:
        committed = await second.committed(TopicPartition(topic, 0))
        assert committed == 3
        rest = await _consume(second, 3)
    finally:
        await second.stop()
    assert [v for _, v, _ in rest] == [b"event-3", b"event-4", b"event-5"]
