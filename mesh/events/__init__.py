"""The event bus: topics, the transactional outbox and its relay, consumers, dead letters.

How a service uses it (trading as the example)::

    # migrations: the outbox tables are one of the service's own numbered migrations
    MIGRATIONS = (..., Migration(3, "outbox and processed events", OUTBOX_STATEMENTS))

    # start-up: the relay creates the topics it publishes to, consumers theirs
    events = EventsConfig.load(toml=ctx.toml)
    relay = OutboxRelay(db, events, source="trading", topics=[ORDERS, TRADES],
                        registry=ctx.registry)

    # a state change and its event commit together
    async with db.transaction(write=True) as tx:
        await tx.execute("UPDATE orders SET status = ? WHERE order_id = ?", (...))
        await enqueue(tx, ORDERS, OrderUpdated(event_id=str(uuid4()), ...), key=user_id)
    relay.wake()

    # consuming idempotently: the event id is recorded in the transaction that applies it
    async def on_trade(delivery: Delivery) -> None:
        async with db.transaction(write=True) as tx:
            if await mark_processed(tx, "portfolio", delivery.event_id):
                await settle(tx, delivery.event)

    consumer = Consumer(events, "portfolio", [TRADES], on_trade, registry=ctx.registry)

    # workers start once the server serves and stop in reverse order after it drained (the
    # consumer stops, then the relay flushes); on_stop closes the store after them
    ServiceSpec(..., workers=(relay, consumer), on_stop=(db.close,))

Delivery is at-least-once end to end; consumers make it effectively once by event id.
Records carry CloudEvents Kafka-binding headers (`ce_id`, `ce_type`, `ce_source`, `ce_time`,
`ce_specversion`), `traceparent` and `x-correlation-id`.
"""

from __future__ import annotations

from mesh.events.config import EventsConfig
from mesh.events.consumer import Consumer
from mesh.events.delivery import Delivery, Handler
from mesh.events.outbox import OUTBOX_STATEMENTS, enqueue, mark_processed, prune_processed
from mesh.events.producer import Producer
from mesh.events.relay import OutboxRelay
from mesh.events.topics import (
    ORDERS,
    PORTFOLIO_UPDATES,
    QUOTES,
    SESSIONS,
    TOPICS,
    TRADES,
    Topic,
    dlq_name,
    ensure_topics,
    message_type_for,
    topic_named,
)

__all__ = [
    "ORDERS",
    "OUTBOX_STATEMENTS",
    "PORTFOLIO_UPDATES",
    "QUOTES",
    "SESSIONS",
    "TOPICS",
    "TRADES",
    "Consumer",
    "Delivery",
    "EventsConfig",
    "Handler",
    "OutboxRelay",
    "Producer",
    "Topic",
    "dlq_name",
    "enqueue",
    "ensure_topics",
    "mark_processed",
    "message_type_for",
    "prune_processed",
    "topic_named",
]
