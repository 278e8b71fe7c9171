"""The trading service on PostgreSQL: the saga, idempotency, recovery and vanishing callers
(its SQLite twin runs in the unit tests), with the stand-in upstreams of the unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from trademesh.trading.v1 import trading_pb2

from tests.unit.services.trading.harness import Harness, running
from tests.unit.services.trading.scenarios import two_instances_fill_once
from tests.unit.services.trading.storm import vanishing_callers


@pytest_asyncio.fixture
async def harness(tmp_path: Path, postgres_url: str) -> AsyncIterator[Harness]:
    async with running(tmp_path, database_url=postgres_url) as built:
        yield built


async def test_market_buy_and_concurrent_duplicates(harness: Harness) -> None:
    alice = harness.user()
    placed = await asyncio.gather(
        *(harness.place(alice, client_order_id="pg-race", quantity="2") for _ in range(20))
    )
    assert len({order.order_id for order in placed}) == 1
    order = await harness.get(alice, placed[0].order_id)
    assert order.status == trading_pb2.ORDER_STATUS_FILLED
    assert list(harness.account(alice).reserved) == [order.order_id]
    kinds = [event_type for _, event_type, _ in await harness.outbox()]
    assert kinds.count("trademesh.trading.v1.TradeExecuted") == 1


async def test_vanishing_callers_leave_postgres_usable(harness: Harness) -> None:
    await vanishing_callers(harness)


async def test_two_instances_fill_a_crossing_quote_once(harness: Harness) -> None:
    await two_instances_fill_once(harness)
