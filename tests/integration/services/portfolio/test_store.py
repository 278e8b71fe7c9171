"""The ledger over the real store on SQLite and PostgreSQL: money stays exact, concurrent
instances never over-reserve or settle twice, and cancelled transactions leave no trace."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from decimal import Decimal
from pathlib import Path

from mesh.context import Principal
from mesh.errors import FailedPrecondition
from mesh.store import Database, open_database
from services.portfolio import Ledger, TradeInput
from services.portfolio.store import MIGRATIONS, Side, migrate_store, queries, snapshot

OWNER = Principal(
    user_id="0b8a9a63-1c1d-4d1e-8f53-5a7c1f0e2a01", session_id="s", roles=frozenset(), token="t"
)


def _trade(portfolio_id: str, order_id: str, quantity: str, price: str, side: Side) -> TradeInput:
    notional = Decimal(quantity) * Decimal(price)
    return TradeInput(
        trade_id=str(uuid.uuid4()),
        portfolio_id=portfolio_id,
        order_id=order_id,
        symbol="BRK.A",
        side=side,
        quantity=Decimal(quantity),
        price=Decimal(price),
        notional=notional,
        notional_currency="USD",
        fee=Decimal("0.000000001"),
        fee_currency="USD",
        executed_at=time.time(),
    )


async def _open(db: Database, cash: str) -> str:
    record = await Ledger(db).create(
        OWNER,
        name=f"p{uuid.uuid4().hex[:6]}",
        description="",
        base_currency="USD",
        initial_cash=Decimal(cash),
    )
    return record.portfolio_id


async def _outbox(db: Database) -> int:
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT COUNT(*) FROM outbox")
    assert row is not None
    return int(row[0])


async def test_migrations_apply_once(db: Database) -> None:
    assert await migrate_store(db) == ()
    async with db.transaction() as tx:
        rows = await tx.fetchall("SELECT version FROM schema_migrations ORDER BY version")
    assert [r[0] for r in rows] == [m.version for m in MIGRATIONS]


async def test_amounts_stay_exact_beyond_float_and_bigint(db: Database) -> None:
    ledger = Ledger(db)
    portfolio_id = await _open(db, "900000000000000000.123456789")
    order_id = str(uuid.uuid4())
    await ledger.reserve(
        portfolio_id, order_id, OWNER.user_id, Decimal("123456789012345.000000001"), "USD"
    )
    bought = await ledger.settle(
        _trade(portfolio_id, order_id, "123456789.12345678", "1000000.00000001", Side.BUY)
    )
    assert bought is not None
    cost = Decimal("123456789.12345678") * Decimal("1000000.00000001") + Decimal("0.000000001")
    assert bought.portfolio.cash == Decimal("900000000000000000.123456789") - cost.quantize(
        Decimal("0.000000001")
    )
    assert bought.portfolio.reserved == 0
    assert bought.position.quantity == Decimal("123456789.12345678")
    found = await snapshot(db, portfolio_id)
    assert found is not None and found.portfolio == bought.portfolio


async def test_the_same_trade_settles_once_and_events_are_marked(db: Database) -> None:
    ledger = Ledger(db)
    portfolio_id = await _open(db, "1000")
    trade = _trade(portfolio_id, str(uuid.uuid4()), "2", "100", Side.BUY)
    event_id = str(uuid.uuid4())
    first = await ledger.settle(trade, event_id=event_id)
    assert first is not None and first.applied
    assert await ledger.settle(trade, event_id=event_id) is None  # the event again
    again = await ledger.settle(trade, event_id=str(uuid.uuid4()))  # another event, same trade
    assert again is not None and not again.applied
    assert again.portfolio.cash == Decimal("800") - Decimal("0.000000001")
    async with db.transaction() as tx:
        trades = await queries.trades_since(tx, portfolio_id, 0)
    assert len(trades) == 1


async def test_two_instances_never_reserve_more_than_the_cash(
    db: Database, database_url: str | None, sqlite_path: Path
) -> None:
    portfolio_id = await _open(db, "100")
    other = open_database(database_url, sqlite_path, name="portfolio")
    try:
        ledgers = [Ledger(db), Ledger(other)]

        async def attempt(i: int) -> bool:
            try:
                await ledgers[i % 2].reserve(
                    portfolio_id, str(uuid.uuid4()), OWNER.user_id, Decimal("7"), "USD"
                )
            except FailedPrecondition:
                return False
            return True

        results = await asyncio.gather(*(attempt(i) for i in range(40)))
    finally:
        await other.close()
    assert sum(results) == 14  # 14 x 7 = 98 <= 100 < 105
    found = await snapshot(db, portfolio_id)
    assert found is not None and found.portfolio.reserved == Decimal("98")


async def test_two_instances_settling_the_same_trade_apply_it_once(
    db: Database, database_url: str | None, sqlite_path: Path
) -> None:
    portfolio_id = await _open(db, "1000")
    trade = _trade(portfolio_id, str(uuid.uuid4()), "1", "10", Side.BUY)
    other = open_database(database_url, sqlite_path, name="portfolio")
    try:
        ledgers = [Ledger(db), Ledger(other)]
        settled = await asyncio.gather(
            *(ledgers[i % 2].settle(trade, event_id=str(uuid.uuid4())) for i in range(10)),
            return_exceptions=True,
        )
    finally:
        await other.close()
    applied = [s for s in settled if not isinstance(s, BaseException) and s and s.applied]
    assert len(applied) == 1, settled
    found = await snapshot(db, portfolio_id)
    assert found is not None and found.positions[0].quantity == 1


async def test_cancelled_transactions_leave_no_trace(db: Database) -> None:
    ledger = Ledger(db)
    portfolio_id = await _open(db, "100000")
    events_before = await _outbox(db)
    tasks = [
        asyncio.create_task(
            ledger.reserve(portfolio_id, str(uuid.uuid4()), OWNER.user_id, Decimal("1"), "USD")
        )
        for _ in range(300)
    ]
    for step, task in enumerate(tasks):
        if step % 3:
            task.cancel()
        if step % 50 == 0:
            await asyncio.sleep(0)
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    async with db.transaction() as tx:
        record = await queries.portfolio(tx, portfolio_id)
        open_ones = await queries.open_reservations(tx, portfolio_id)
    assert record is not None
    assert record.reserved == len(open_ones)
    assert await _outbox(db) - events_before == len(open_ones)
    # Reads and writes go on, here and from another connection.
    await ledger.reserve(portfolio_id, str(uuid.uuid4()), OWNER.user_id, Decimal("1"), "USD")


async def test_value_points_follow_settlements(db: Database) -> None:
    ledger = Ledger(db)
    portfolio_id = await _open(db, "1000")
    await ledger.settle(_trade(portfolio_id, str(uuid.uuid4()), "2", "100", Side.BUY))
    async with db.transaction() as tx:
        before, points = await queries.value_points_since(tx, portfolio_id, 0)
    assert before is None
    assert [p.value for p in points] == [Decimal("1000"), Decimal("1000") - Decimal("0.000000001")]
