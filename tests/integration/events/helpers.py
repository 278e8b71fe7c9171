"""Helpers for event bus tests: events, the applied table, reading topics to their end."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from trademesh.trading.v1 import events_pb2 as trading_events

from mesh.events import OUTBOX_STATEMENTS, EventsConfig, Topic, enqueue
from mesh.store import Database, Migration, migrate

MIGRATIONS = (
    Migration(1, "outbox and processed events", OUTBOX_STATEMENTS),
    Migration(
        2,
        "what test handlers applied",
        (
            "CREATE TABLE applied (event_id TEXT NOT NULL, portfolio_id TEXT NOT NULL, "
            "applied_at DOUBLE PRECISION NOT NULL)",
        ),
    ),
)


async def migrate_all(db: Database) -> None:
    await migrate(db, MIGRATIONS)


def trade(portfolio_id: str = "p-1", n: int = 0) -> trading_events.TradeExecuted:
    event = trading_events.TradeExecuted(event_id=str(uuid.uuid4()), correlation_id=f"cid-{n}")
    event.occurred_at.GetCurrentTime()
    event.trade.trade_id = f"t-{n}"
    event.trade.portfolio_id = portfolio_id
    return event


async def enqueue_trades(
    db: Database, topic: Topic, count: int, *, keys: Iterable[str] = ("p-1", "p-2", "p-3")
) -> list[str]:
    """Enqueue `count` trades, one transaction each, cycling over `keys`; their event ids."""
    key_list = list(keys)
    ids = []
    for n in range(count):
        key = key_list[n % len(key_list)]
        event = trade(key, n)
        async with db.transaction(write=True) as tx:
            await enqueue(tx, topic, event, key=key)
        ids.append(event.event_id)
    return ids


async def pending(db: Database) -> int:
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
    assert row is not None
    return int(row[0])


async def read_to_end(config: EventsConfig, topic: str, partitions: int) -> list[Any]:
    """Every record now in `topic`, in partition order (no group, nothing committed)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        while True:
            positions = {tp: await consumer.position(tp) for tp in tps}
            if all(positions[tp] >= ends[tp] for tp in tps):
                return records
            batches = await consumer.getmany(timeout_ms=2000)
            for batch in batches.values():
                records.extend(batch)
    finally:
        await consumer.stop()


def event_ids(records: Iterable[Any]) -> list[str]:
    return [dict(r.headers)["ce_id"].decode() for r in records]
