"""The direct producer and topic creation against the real broker."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError
from trademesh.marketdata.v1 import events_pb2 as marketdata_events

from mesh.events import QUOTES, TRADES, EventsConfig, Producer, Topic, ensure_topics
from mesh.infra.ports import free_port
from tests.integration.events.conftest import fast_config
from tests.integration.events.helpers import read_to_end, trade


async def test_sent_events_carry_cloudevents_headers(config: EventsConfig, topic: Topic) -> None:
    event = trade()
    async with Producer(config, source="marketdata") as producer:
        await producer.send(topic, event, key="p-9")
        with pytest.raises(TypeError):
            await producer.send(topic, marketdata_events.QuoteUpdated(event_id="q"), key="p-9")
    [record] = await read_to_end(config, topic.name, topic.partitions)
    headers = {k: v.decode() for k, v in record.headers}
    assert record.key == b"p-9"
    assert headers["ce_id"] == event.event_id
    assert headers["ce_source"] == "marketdata"
    assert headers["ce_type"] == "trademesh.trading.v1.TradeExecuted"
    assert headers["content-type"] == "application/protobuf"


async def test_a_producer_starts_without_kafka_and_sends_fail_clearly() -> None:
    config = dataclasses.replace(fast_config(f"127.0.0.1:{free_port()}"), request_timeout_seconds=1)
    async with Producer(config, source="marketdata") as producer:
        with pytest.raises(KafkaError):
            await producer.send(TRADES, trade(), key="p-1")


async def test_ensure_topics_is_idempotent_and_applies_compaction(config: EventsConfig) -> None:
    quotes = dataclasses.replace(QUOTES, name=f"test.quotes.{uuid.uuid4().hex[:8]}")
    await ensure_topics(config, [quotes])
    await ensure_topics(config, [quotes])  # again, as every instance does at start
    admin = AIOKafkaAdminClient(bootstrap_servers=config.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([quotes.name, quotes.dlq])
        partitions = {t["topic"]: len(t["partitions"]) for t in described}
        assert partitions == {quotes.name: quotes.partitions, quotes.dlq: quotes.partitions}
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, quotes.name)]
        )
        entries = {entry[0]: entry[1] for entry in response.resources[0][4]}
    finally:
        await admin.close()
    assert entries["cleanup.policy"] == "compact"
    assert entries["retention.ms"] == str(quotes.retention_ms)
