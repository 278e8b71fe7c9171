"""The relay with no broker to talk to: rows stay, the failure is recorded, stop is prompt;
and one publisher per SQLite database. (The broker itself: tests/integration/events.)"""

from __future__ import annotations

import uuid
from pathlib import Path

from trademesh.trading.v1 import events_pb2 as trading_events

from mesh.events import TRADES, EventsConfig, OutboxRelay, enqueue
from mesh.events._leader import FileLock
from mesh.infra.ports import free_port
from mesh.store import Database


def unreachable() -> EventsConfig:
    return EventsConfig(
        bootstrap_servers=f"127.0.0.1:{free_port()}",
        request_timeout_seconds=1.0,
        relay_backoff_initial_seconds=0.05,
        relay_backoff_max_seconds=0.1,
    )


async def test_without_kafka_rows_stay_and_the_error_is_recorded(db: Database) -> None:
    async with db.transaction(write=True) as tx:
        for _ in range(3):
            await enqueue(
                tx, TRADES, trading_events.TradeExecuted(event_id=str(uuid.uuid4())), key="p-1"
            )
    relay = OutboxRelay(db, unreachable(), source="trading")
    await relay.start()
    try:
        assert not await relay.flush(timeout_seconds=5)
        assert await relay.pending() == 3
    finally:
        await relay.stop()
    async with db.transaction() as tx:
        rows = await tx.fetchall("SELECT attempts, last_error, published_at FROM outbox")
    first = rows[0]
    assert first[0] >= 1 and "Kafka" in str(first[1]) and first[2] is None
    assert all(row[2] is None for row in rows)


def test_only_one_relay_holds_a_sqlite_database(tmp_path: Path) -> None:
    class Db:
        path = tmp_path / "svc.sqlite3"

    first, second = FileLock.beside(Db()), FileLock.beside(Db())  # type: ignore[arg-type]
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()
