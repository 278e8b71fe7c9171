"""The outbox relay against the real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest
from prometheus_client import CollectorRegistry

from mesh.events import EventsConfig, OutboxRelay, Topic, enqueue
from mesh.store import Database
from tests.conftest import eventually
from tests.integration.events.helpers import (
    enqueue_trades,
    event_ids,
    pending,
    read_to_end,
    trade,
)


async def test_rolled_back_events_are_never_published(
    db: Database, config: EventsConfig, topic: Topic
) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction(write=True) as tx:
            await enqueue(tx, topic, trade(), key="p-1")
            raise RuntimeError("the state change failed")
    kept = await enqueue_trades(db, topic, 1)
    async with OutboxRelay(db, config, source="trading") as relay:
        assert await relay.flush()
    assert event_ids(await read_to_end(config, topic.name, topic.partitions)) == kept


async def test_committed_events_arrive_once_in_order_with_cloudevents_headers(
    db: Database, config: EventsConfig, topic: Topic
) -> None:
    registry = CollectorRegistry()
    relay = OutboxRelay(db, config, source="trading", registry=registry)
    await relay.start()
    try:
        ids = await enqueue_trades(db, topic, 30)
        relay.wake()
        await eventually(lambda: _none_pending(db), what="outbox drained")
    finally:
        await relay.stop()
    records = await read_to_end(config, topic.name, topic.partitions)
    assert sorted(event_ids(records)) == sorted(ids)  # every one, once
    by_key: dict[str, list[str]] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_key.setdefault(record.key.decode(), []).append(dict(record.headers)["ce_id"].decode())
    for key, got in by_key.items():
        assert got == [i for n, i in enumerate(ids) if f"p-{n % 3 + 1}" == key], key
    headers = {k: v.decode() for k, v in records[0].headers}
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_type"] == "trademesh.trading.v1.TradeExecuted"
    assert headers["ce_source"] == "trading"
    assert headers["ce_time"].endswith("Z")
    assert headers["x-correlation-id"].startswith("cid-")
    published = registry.get_sample_value(
        "trademesh_outbox_published_total", {"source": "trading", "topic": topic.name}
    )
    assert published == 30
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT MIN(published_at), MIN(attempts) FROM outbox")
    assert row is not None and row[0] is not None and row[1] == 1


async def _none_pending(db: Database) -> bool:
    return await pending(db) == 0


async def test_a_relay_cancelled_mid_publish_loses_nothing(
    db: Database, config: EventsConfig, topic: Topic
) -> None:
    ids = await enqueue_trades(db, topic, 400)
    relay = OutboxRelay(db, dataclass_replace(config, relay_batch_size=50), source="trading")
    # Cancel flushes at many different points: before the read, during sends, while
    # waiting for acknowledgements, inside the marking transaction.
    for yields in range(0, 60, 3):
        task = asyncio.create_task(relay.flush())
        for _ in range(yields):
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await relay.stop()
    # The database is whole, and a new relay sends what is left.
    async with OutboxRelay(db, config, source="trading") as second:
        assert await second.flush(30)
    got = Counter(event_ids(await read_to_end(config, topic.name, topic.partitions)))
    assert set(got) == set(ids)


async def test_two_relays_on_one_database_publish_each_event_once(
    db: Database, config: EventsConfig, topic: Topic
) -> None:
    first = OutboxRelay(db, config, source="trading")
    second = OutboxRelay(db, config, source="trading")
    async with first, second:
        ids = await enqueue_trades(db, topic, 60)
        first.wake()
        second.wake()
        await eventually(lambda: _none_pending(db), what="outbox drained")
    got = Counter(event_ids(await read_to_end(config, topic.name, topic.partitions)))
    assert got == Counter(ids)


async def test_published_rows_are_deleted_after_the_retention(
    db: Database, config: EventsConfig, topic: Topic
) -> None:
    await enqueue_trades(db, topic, 3)
    async with db.transaction(write=True) as tx:
        await tx.execute("UPDATE outbox SET published_at = 1 WHERE seq = 1")
    relay = OutboxRelay(db, config, source="trading")
    async with relay:
        relay.wake()

        async def only_unexpired_left() -> bool:
            async with db.transaction() as tx:
                rows = await tx.fetchall("SELECT seq FROM outbox ORDER BY seq")
            return [r[0] for r in rows] == [2, 3] and await pending(db) == 0

        await eventually(only_unexpired_left, what="old published row deleted")
    async with db.transaction() as tx:
        [(headers,)] = await tx.fetchall("SELECT headers FROM outbox WHERE seq = 2")
    assert json.loads(headers)["ce_id"]


def dataclass_replace(config: EventsConfig, **changes: object) -> EventsConfig:
    import dataclasses

    return dataclasses.replace(config, **changes)  # type: ignore[arg-type]
