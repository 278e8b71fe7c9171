"""`python -m services.notification` on PostgreSQL, chosen by the plain `DATABASE_URL`: it
migrates the database, registers in Consul, and stores what it consumes from Kafka there."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import psycopg

from mesh.discovery import ConsulClient
from mesh.events import EventsConfig, Producer, topic_named
from mesh.infra import Consul, Kafka
from tests.conftest import eventually
from tests.unit.services.notification import events

TIMEOUT = 60.0


async def test_the_service_keeps_its_feed_in_postgresql(
    consul: Consul, kafka: Kafka, postgres_url: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "notification.log"
    env = {
        **os.environ,
        "TRADEMESH_STATE_DIR": str(consul.state_dir),
        "TRADEMESH_SERVER_CONSUL_ADDRESS": consul.address,
        "TRADEMESH_SERVER_CHECK_INTERVAL_SECONDS": "0.5",
        "TRADEMESH_SERVER_SHUTDOWN_DELAY_SECONDS": "0.5",
        "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": kafka.address,
        "DATABASE_URL": postgres_url,
        # Were SQLite used after all, it would be here, and the database would stay empty.
        "TRADEMESH_NOTIFICATION_SQLITE_PATH": str(tmp_path / "unused.db"),
    }
    env.pop("TRADEMESH_NOTIFICATION_DATABASE_URL", None)
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.notification", env=env, stdout=log, stderr=log
        )

    def output() -> str:
        return log_path.read_text()[-4000:] if log_path.exists() else ""

    try:
        async with ConsulClient(consul.address) as client:

            async def registered() -> bool:
                assert proc.returncode is None, f"notification exited:\n{output()}"
                _, instances = await client.healthy("notification")
                return any(i.meta.get("pid") == str(proc.pid) for i in instances)

            await eventually(registered, timeout=TIMEOUT, what="notification passing in Consul")

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
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0, output()
