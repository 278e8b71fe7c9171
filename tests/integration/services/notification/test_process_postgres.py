"""`python -m services.notification` on PostgreSQL, chosen by the plain `DATABASE_URL`: it
migrates the database, registers in Consul, and stores what it consumes from Kafka there."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg

from mesh.events import EventsConfig, Producer, topic_named
from mesh.infra import Consul, Kafka
from tests.conftest import eventually
from tests.integration.services._process import launch
from tests.unit.services.notification import events

TIMEOUT = 60.0


async def test_the_service_keeps_its_feed_in_postgresql(
    consul: Consul, kafka: Kafka, postgres_url: str, tmp_path: Path
) -> None:
    env = {
        "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": kafka.address,
        "DATABASE_URL": postgres_url,
        # Were SQLite used after all, it would be here, and the database would stay empty.
        "TRADEMESH_NOTIFICATION_SQLITE_PATH": str(tmp_path / "unused.db"),
    }
    notification = await launch("notification", consul, tmp_path, env, timeout=TIMEOUT)
    try:
        user_id = str(uuid.uuid4())
        trade = events.trade(user_id, symbol="PGSQL")
        config = EventsConfig(bootstrap_servers=kafka.address, client_id="notification-pg")
        async with Producer(config, source="notification-pg-test") as producer:
            await producer.send(topic_named("trading.trades.v1"), trade, key=user_id)

        async def stored() -> list[tuple[str, ...]]:
            async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
                cursor = await conn.execute(
                    "SELECT title, event_id FROM notification.notifications WHERE user_id = %s",
                    (user_id,),
                )
                return list(await cursor.fetchall())

        rows = await eventually(stored, timeout=TIMEOUT, what="the notification in PostgreSQL")
        assert rows == [("Bought 10 PGSQL at 189.20", trade.event_id)]
        assert not (tmp_path / "unused.db").exists()
    finally:
        assert await notification.stop() == 0, notification.log()[-4000:]
