"""Events per second from trading's outbox through Kafka to applied portfolio changes.

Starts a Consul, a Kafka and identity, marketdata, portfolio and trading as real processes on
loopback; funds a few portfolios; then commits batches of TradeExecuted events into trading's
own outbox table (the rows trading's saga writes when an order fills, with mesh.events.enqueue)
and times until portfolio has settled every one of them (its ledger rows). Trading's outbox
relay publishes them; portfolio's consumer group applies them, one transaction each.

    .venv/bin/python -m bench.events_throughput [--events 3000] [--portfolios 6] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp
from trademesh.common.v1 import types_pb2
from trademesh.trading.v1 import events_pb2, trading_pb2

from bench._workdir import scratch
from mesh.events import TRADES, enqueue
from mesh.store import Database, open_database
from tests.e2e._platform import Platform, PlatformOptions, own_infra, running_platform
from tests.e2e._users import Trader, money, new_trader

PRICE = Decimal("50.00")
FEE = Decimal("0.03")
POLL_SECONDS = 0.02


def trade_event(trader: Trader) -> events_pb2.TradeExecuted:
    """A buy of one share, as trading announces an execution."""
    now = Timestamp()
    now.GetCurrentTime()
    trade = trading_pb2.Trade(
        trade_id=str(uuid.uuid4()),
        order_id=str(uuid.uuid4()),
        user_id=trader.user_id,
        portfolio_id=trader.portfolio_id,
        symbol="KO",
        side=types_pb2.SIDE_BUY,
        quantity="1",
        price=str(PRICE),
        notional=money(PRICE),
        fee=money(FEE),
        execute_time=now,
    )
    return events_pb2.TradeExecuted(
        event_id=str(uuid.uuid4()), occurred_at=now, correlation_id="bench", trade=trade
    )


async def settled(portfolio_db: Database) -> int:
    async with portfolio_db.transaction() as tx:
        row = await tx.fetchone("SELECT COUNT(*) FROM trades", ())
    return int(row[0]) if row else 0


async def one_run(
    trading_db: Database, portfolio_db: Database, traders: list[Trader], events: int
) -> tuple[float, float]:
    """Commit `events` TradeExecuted rows to the outbox; seconds until the first and the last
    is settled, counted from the commit."""
    before = await settled(portfolio_db)
    batch = [trade_event(traders[i % len(traders)]) for i in range(events)]
    async with trading_db.transaction(write=True) as tx:
        for event in batch:
            await enqueue(tx, TRADES, event, key=event.trade.portfolio_id)
    committed = time.perf_counter()
    first: float | None = None
    while True:
        done = await settled(portfolio_db) - before
        now = time.perf_counter()
        if done > 0 and first is None:
            first = now - committed
        if done >= events:
            return first or 0.0, now - committed
        await asyncio.sleep(POLL_SECONDS)


async def bench(events: int, portfolios: int, runs: int, timeout: float) -> None:
    options = PlatformOptions(services=("identity", "marketdata", "portfolio", "trading"))
    with scratch() as workdir:
        print(f"starting Consul, Kafka and four services under {workdir} ...", flush=True)
        async with (
            own_infra(workdir / "infra") as infra,
            running_platform(infra.consul, infra.kafka.address, workdir, options) as platform,
        ):
            await measure(platform, workdir, events, portfolios, runs, timeout)


async def measure(
    platform: Platform, workdir: Path, events: int, portfolios: int, runs: int, timeout: float
) -> None:
    traders = [await new_trader(platform, "1000000000") for _ in range(portfolios)]
    trading_db = open_database(None, workdir / "trading.sqlite3", name="trading")
    portfolio_db = open_database(None, workdir / "portfolio.sqlite3", name="portfolio")
    try:
        async with asyncio.timeout(timeout):
            # One small run first: connections, consumer group and partitions settle in.
            await one_run(trading_db, portfolio_db, traders, 50)
            print(
                f"\n{events} TradeExecuted per run over {portfolios} portfolios "
                f"(6 partitions), outbox -> Kafka -> portfolio settled:"
            )
            rates: list[float] = []
            for run in range(1, runs + 1):
                first, last = await one_run(trading_db, portfolio_db, traders, events)
                rate = events / last
                steady = (events - 1) / (last - first) if last > first else float("nan")
                rates.append(rate)
                print(
                    f"  run {run}: {last:6.2f} s from commit to the last applied "
                    f"= {rate:7.0f} events/s  (first applied after {first:.2f} s; "
                    f"{steady:.0f} events/s from first to last)"
                )
            rates.sort()
            print(f"  median: {rates[len(rates) // 2]:.0f} events/s")
    finally:
        await trading_db.close()
        await portfolio_db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--portfolios", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0, help="bound on the measuring")
    args = parser.parse_args(argv)
    asyncio.run(bench(args.events, args.portfolios, args.runs, args.timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
