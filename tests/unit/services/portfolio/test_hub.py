"""The watch hub on its own, over the service's real store: latest state wins for slow
watchers, quote re-valuation is throttled while state changes are not."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal

from mesh.context import Principal
from services.portfolio import Portfolio, Price, QuoteBook, TradeInput
from services.portfolio.hub import WatchHub
from services.portfolio.store import Side, Snapshot, snapshot
from tests.conftest import eventually

from .conftest import ALICE, TIMEOUT

OWNER = Principal(user_id=ALICE, session_id="s", roles=frozenset({"trader"}), token="t")


def _buy(portfolio_id: str, quantity: str = "1") -> TradeInput:
    return TradeInput(
        trade_id=str(uuid.uuid4()),
        portfolio_id=portfolio_id,
        order_id=str(uuid.uuid4()),
        symbol="AAPL",
        side=Side.BUY,
        quantity=Decimal(quantity),
        price=Decimal("10"),
        notional=Decimal(quantity) * 10,
        notional_currency="USD",
        fee=Decimal(0),
        fee_currency="",
        executed_at=time.time(),
    )


class ManualClock:
    def __init__(self) -> None:
        self.value = 0.0

    def __call__(self) -> float:
        return self.value


async def _portfolio(service: Portfolio) -> str:
    record = await service.ledger.create(
        OWNER, name="hub", description="", base_currency="USD", initial_cash=Decimal(1000)
    )
    return record.portfolio_id


async def test_a_slow_watcher_gets_only_the_newest_state(service: Portfolio) -> None:
    portfolio_id = await _portfolio(service)
    async with service.hub.watch(portfolio_id) as watcher:
        async with asyncio.timeout(TIMEOUT):
            first = await watcher.next()
        assert first is not None
        for _ in range(20):
            await service.ledger.settle(_buy(portfolio_id))

        async def newest() -> bool:
            async with asyncio.timeout(TIMEOUT):
                message = await watcher.next()
            assert message is not None
            return message.positions[0].quantity == "20"

        # Each read returns the newest state the feed has; a read never returns a backlog.
        await eventually(newest, timeout=TIMEOUT, interval=0, what="the newest state")


async def test_quote_revaluation_waits_for_the_interval_state_changes_do_not(
    service: Portfolio,
) -> None:
    portfolio_id = await _portfolio(service)
    await service.ledger.settle(_buy(portfolio_id, "2"))
    book = QuoteBook()
    clock = ManualClock()

    async def load(pid: str) -> Snapshot | None:
        return await snapshot(service.db, pid)

    hub = WatchHub(load, book, revalue_interval_seconds=3600, clock=clock)
    try:
        async with hub.watch(portfolio_id) as watcher:
            async with asyncio.timeout(TIMEOUT):
                first = await watcher.next()
            assert first is not None and first.positions[0].market_price == ""
            book.update([Price("AAPL", Decimal("12"), None, 1.0)])
            # Throttled: the feed holds the re-valuation back for the rest of the hour.
            for _ in range(20):
                await asyncio.sleep(0)
            assert not watcher.pending
            # A change of state goes out at once, valued at the newest price.
            await service.ledger.settle(_buy(portfolio_id))
            hub.changed(portfolio_id)
            async with asyncio.timeout(TIMEOUT):
                changed = await watcher.next()
            assert changed is not None
            assert changed.positions[0].quantity == "3"
            assert changed.positions[0].market_price == "12"
    finally:
        await hub.stop()


async def test_quote_revaluation_comes_after_the_interval(service: Portfolio) -> None:
    portfolio_id = await _portfolio(service)
    await service.ledger.settle(_buy(portfolio_id))
    book = QuoteBook()

    async def load(pid: str) -> Snapshot | None:
        return await snapshot(service.db, pid)

    hub = WatchHub(load, book, revalue_interval_seconds=0.05)
    try:
        async with hub.watch(portfolio_id) as watcher:
            async with asyncio.timeout(TIMEOUT):
                await watcher.next()
            for step in range(1, 6):
                book.update([Price("AAPL", Decimal(10 + step), None, float(step))])
            async with asyncio.timeout(TIMEOUT):
                revalued = await watcher.next()
            assert revalued is not None
            assert revalued.positions[0].market_price == "15"
    finally:
        await hub.stop()


async def test_stopping_the_hub_ends_every_watch(service: Portfolio) -> None:
    portfolio_id = await _portfolio(service)
    async with service.hub.watch(portfolio_id) as watcher:
        async with asyncio.timeout(TIMEOUT):
            assert await watcher.next() is not None
        await service.hub.stop()
        async with asyncio.timeout(TIMEOUT):
            assert await watcher.next() is None
