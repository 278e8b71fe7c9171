"""SIGKILL the portfolio process while trades flow, restart it: every trade is settled exactly
once, and every settlement is announced on portfolio.updates.v1 (at least once, one event id
each, so consumers that apply by event id see each once)."""

from __future__ import annotations

import asyncio
import signal
import uuid
from decimal import Decimal
from pathlib import Path

from trademesh.portfolio.v1 import events_pb2 as portfolio_events

from mesh.context import Principal
from mesh.events import PORTFOLIO_UPDATES, TRADES, Consumer, Delivery, EventsConfig, Producer
from mesh.infra import Consul, Kafka
from mesh.store import open_database
from services.portfolio import Ledger
from services.portfolio.store import migrate_store, snapshot
from tests.conftest import eventually
from tests.integration.services._process import launch
from tests.integration.services.portfolio.test_kafka import trade_executed

TRADES_SENT = 150
TIMEOUT = 120.0
OWNER = Principal(
    user_id="0b8a9a63-1c1d-4d1e-8f53-5a7c1f0e2a01", session_id="s", roles=frozenset(), token="t"
)


async def _settled(path: Path, portfolio_id: str) -> int:
    db = open_database(None, path)
    try:
        async with db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT COUNT(*) FROM trades WHERE portfolio_id = ?", (portfolio_id,)
            )
    finally:
        await db.close()
    assert row is not None
    return int(row[0])


async def test_sigkill_while_trades_flow_loses_and_doubles_nothing(
    consul: Consul, kafka: Kafka, tmp_path: Path
) -> None:
    path = tmp_path / "portfolio.db"
    db = open_database(None, path)
    try:
        await migrate_store(db)
        record = await Ledger(db).create(
            OWNER, name="crash", description="", base_currency="USD", initial_cash=Decimal(100000)
        )
    finally:
        await db.close()
    pid = record.portfolio_id
    env = {
        "TRADEMESH_PORTFOLIO_SQLITE_PATH": str(path),
        "TRADEMESH_PORTFOLIO_CONSUMER_GROUP": f"portfolio-{uuid.uuid4().hex[:8]}",
        "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": kafka.address,
        "TRADEMESH_EVENTS_CONSUMER_MAX_ATTEMPTS": "2",
        "TRADEMESH_EVENTS_CONSUMER_BACKOFF_INITIAL_SECONDS": "0.05",
    }
    events = EventsConfig(bootstrap_servers=kafka.address, client_id="portfolio-crash")
    announced: dict[str, str] = {}  # event id -> trade id

    async def collect(delivery: Delivery) -> None:
        event = delivery.event
        if (
            isinstance(event, portfolio_events.PortfolioUpdated)
            and event.portfolio.portfolio_id == pid
            and event.change == portfolio_events.PORTFOLIO_CHANGE_TRADE_SETTLED
        ):
            announced[event.event_id] = event.trade_id

    reader = Consumer(events, f"reader-{uuid.uuid4().hex[:6]}", [PORTFOLIO_UPDATES], collect)
    first = await launch("portfolio", consul, tmp_path, env)
    trades = [trade_executed(pid, quantity="1", price="3") for _ in range(TRADES_SENT)]
    async with reader, Producer(events, source="trading-crash") as producer:

        async def flow() -> None:
            for trade in trades:
                await producer.send(TRADES, trade, key=pid)

        sending = asyncio.create_task(flow())

        async def some_settled() -> bool:
            return await _settled(path, pid) >= TRADES_SENT // 4

        await eventually(some_settled, timeout=TIMEOUT, what="a quarter of the trades settled")
        await first.stop(signal.SIGKILL)
        await sending
        # A few trades delivered again for good measure.
        for trade in trades[:5]:
            await producer.send(TRADES, trade, key=pid)

        second = await launch("portfolio", consul, tmp_path, env)
        try:

            async def all_settled() -> bool:
                return await _settled(path, pid) == TRADES_SENT

            await eventually(all_settled, timeout=TIMEOUT, what="every trade settled")

            async def all_announced() -> bool:
                return set(announced.values()) == {t.trade.trade_id for t in trades}

            await eventually(all_announced, timeout=TIMEOUT, what="every settlement announced")
        finally:
            await second.stop()

    db = open_database(None, path)
    try:
        found = await snapshot(db, pid)
    finally:
        await db.close()
    assert found is not None
    # Each trade costs 3 + 1 fee.
    assert found.portfolio.cash == Decimal(100000 - 4 * TRADES_SENT)
    assert found.positions[0].quantity == TRADES_SENT
    assert len(announced) == TRADES_SENT  # one event id per settlement, however often sent
