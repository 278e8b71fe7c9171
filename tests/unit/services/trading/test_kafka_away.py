"""Kafka away: the service starts, accepts and fills orders, and keeps their events in the
outbox for when it returns."""

from __future__ import annotations

from pathlib import Path

from trademesh.trading.v1 import trading_pb2

from mesh.events import EventsConfig

from .harness import running

# Nothing listens on port 1: every connection is refused at once.
NOWHERE = EventsConfig(
    bootstrap_servers="127.0.0.1:1",
    request_timeout_seconds=1.0,
    relay_backoff_initial_seconds=0.1,
    relay_backoff_max_seconds=0.5,
)


async def test_orders_are_accepted_while_kafka_is_away(tmp_path: Path) -> None:
    async with running(
        tmp_path,
        events=NOWHERE,
        order_updates="kafka",
        quote_feed="kafka",
        topics_timeout_seconds=0.5,
    ) as harness:
        alice = harness.user()
        order = await harness.place(alice)
        assert order.status == trading_pb2.ORDER_STATUS_FILLED
        async with harness.service.store.db.transaction() as tx:
            unsent = await tx.fetchall("SELECT event_type FROM outbox WHERE published_at IS NULL")
        assert len(unsent) == 4  # PENDING, OPEN, the trade, FILLED: waiting, not lost
