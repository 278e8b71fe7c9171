"""The transactional outbox: events written in the same transaction as the state change they
announce, and the processed-event ledger consumers apply idempotently against.

A service lists `OUTBOX_STATEMENTS` as one of its own numbered migrations::

    MIGRATIONS = (
        Migration(1, "orders", (...)),
        Migration(2, "outbox and processed events", OUTBOX_STATEMENTS),
    )
"""

from __future__ import annotations

import json
import time

from google.protobuf.message import Message

from mesh.events._headers import check_event, event_headers
from mesh.events.topics import Topic
from mesh.store import Transaction

OUTBOX_STATEMENTS: tuple[str, ...] = (
    """
    CREATE TABLE outbox (
        seq {serial_pk},
        event_id TEXT NOT NULL UNIQUE,
        topic TEXT NOT NULL,
        event_key TEXT NOT NULL,
        payload {blob} NOT NULL,
        event_type TEXT NOT NULL,
        headers TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        published_at DOUBLE PRECISION,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    )
    """,
    "CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL",
    "CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL",
    """
    CREATE TABLE processed_events (
        consumer TEXT NOT NULL,
        event_id TEXT NOT NULL,
        processed_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (consumer, event_id)
    )
    """,
    "CREATE INDEX processed_events_at ON processed_events (processed_at)",
)
"""DDL of the `outbox` and `processed_events` tables, for one of the service's migrations."""


async def enqueue(tx: Transaction, topic: Topic, event: Message, key: str) -> None:
    """Add `event` for `topic`, keyed by `key`, to the outbox inside the caller's transaction.

    The event is published (by the service's `OutboxRelay`) only if the transaction commits;
    a rolled-back transaction publishes nothing. The record's headers are fixed now: the
    CloudEvents attributes (`ce_id` = `event.event_id`, `ce_type` = the message's full name,
    `ce_time` = `event.occurred_at`, `ce_specversion`; the relay adds `ce_source`) and the
    current call's `traceparent` and `x-correlation-id`.

        async with db.transaction(write=True) as tx:
            await tx.execute("UPDATE orders SET status = ? WHERE order_id = ?", (...))
            await enqueue(tx, ORDERS, OrderUpdated(event_id=..., ...), key=user_id)

    Raises `TypeError` when `event` is not the topic's message type and `ValueError` when it
    has no `event_id` or `key` is empty. An event id enqueued twice breaks the outbox's unique
    constraint (the store's `IntegrityViolation`).
    """
    event_id = check_event(topic, event, key)
    headers = event_headers(event)
    await tx.execute(
        "INSERT INTO outbox (event_id, topic, event_key, payload, event_type, headers, "
        "created_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
        (
            event_id,
            topic.name,
            key,
            event.SerializeToString(deterministic=True),
            topic.event_type,
            json.dumps(headers, separators=(",", ":"), sort_keys=True),
            time.time(),
        ),
    )


async def mark_processed(tx: Transaction, consumer: str, event_id: str) -> bool:
    """Record that `consumer` applied `event_id`, in the transaction that applies it.

    Returns False when it was already recorded: the caller then changes nothing, and the
    redelivered record is acknowledged as applied.

        async with db.transaction(write=True) as tx:
            if await mark_processed(tx, "portfolio", delivery.event_id):
                await apply_trade(tx, delivery.event)
    """
    if not consumer or not event_id:
        raise ValueError("consumer and event_id must not be empty")
    inserted = await tx.execute(
        "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES (?, ?, ?) "
        "ON CONFLICT (consumer, event_id) DO NOTHING",
        (consumer, event_id, time.time()),
    )
    return inserted == 1


async def prune_processed(tx: Transaction, older_than_seconds: float) -> int:
    """Forget processed event ids older than `older_than_seconds`; returns how many.

    The relay does this for services that run one; a consumer-only service calls it from
    its own maintenance. Keep ids longer than the topics' retention.
    """
    return await tx.execute(
        "DELETE FROM processed_events WHERE processed_at < ?", (time.time() - older_than_seconds,)
    )
