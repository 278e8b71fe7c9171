"""WatchPortfolio over the real server: the first state, every change, re-valuation when
quotes move, who may watch, and streams that end or are cancelled."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal
from typing import Any

import grpc
from trademesh.portfolio.v1 import portfolio_pb2

from services.portfolio import Price
from tests.conftest import eventually

from .conftest import ALICE, BOB, ROOT, TIMEOUT, Running, amount, create, expect, settle_request

pb = portfolio_pb2


def _watch(running: Running, portfolio_id: str, user: str = ALICE, *roles: str) -> Any:
    return running.user.WatchPortfolio(
        pb.WatchPortfolioRequest(portfolio_id=portfolio_id),
        metadata=running.as_user(user, *roles),
        timeout=60,
    )


async def _next(stream: Any) -> pb.WatchPortfolioResponse:
    async with asyncio.timeout(TIMEOUT):
        message: pb.WatchPortfolioResponse = await stream.read()
    assert message is not grpc.aio.EOF
    return message


async def test_first_the_state_then_every_change(running: Running) -> None:
    portfolio = await create(running, ALICE, cash="5000")
    running.quotes.set("AAPL", "150")
    stream = _watch(running, portfolio.portfolio_id, ALICE, "viewer")
    first = await _next(stream)
    assert first.portfolio == portfolio
    assert list(first.positions) == []

    await running.trading.SettleTrade(
        settle_request(portfolio, order_id=str(uuid.uuid4()), quantity="10", price="100"),
        timeout=TIMEOUT,
    )
    settled = await _next(stream)
    assert amount(settled.portfolio.cash_balance) == Decimal("3999")
    (position,) = settled.positions
    assert position.quantity == "10"
    # AAPL was not held when the watch started, so no price was fetched for it: the watch
    # values it once marketdata.quotes.v1 brings a quote.
    assert position.market_price == ""
    stream.cancel()


async def test_quotes_moving_revalue_the_watch(running: Running) -> None:
    portfolio = await create(running, ALICE, cash="5000")
    await running.trading.SettleTrade(
        settle_request(portfolio, order_id=str(uuid.uuid4()), quantity="10", price="100"),
        timeout=TIMEOUT,
    )
    running.quotes.set("AAPL", "150")
    stream = _watch(running, portfolio.portfolio_id)
    first = await _next(stream)
    # Starting the watch priced its symbols with the caller's token and kept them.
    assert first.positions[0].market_price == "150"
    running.service.book.update([Price("AAPL", Decimal("151.5"), None, time.time() + 1)])
    moved = await _next(stream)
    assert moved.positions[0].market_price == "151.5"
    assert amount(moved.positions[0].market_value) == Decimal("1515")
    assert moved.portfolio == first.portfolio
    stream.cancel()


async def test_only_the_owner_and_admins_may_watch(running: Running) -> None:
    portfolio = await create(running, ALICE)
    await expect(grpc.StatusCode.NOT_FOUND, _watch(running, portfolio.portfolio_id, BOB).read())
    await expect(grpc.StatusCode.NOT_FOUND, _watch(running, str(uuid.uuid4()), ALICE).read())
    stream = _watch(running, portfolio.portfolio_id, ROOT, "admin")
    assert (await _next(stream)).portfolio.portfolio_id == portfolio.portfolio_id
    stream.cancel()


async def test_deleting_the_portfolio_ends_the_watch(running: Running) -> None:
    portfolio = await create(running, ALICE)
    stream = _watch(running, portfolio.portfolio_id)
    await _next(stream)
    await running.user.DeletePortfolio(
        pb.DeletePortfolioRequest(portfolio_id=portfolio.portfolio_id),
        metadata=running.as_user(ALICE),
        timeout=TIMEOUT,
    )
    async with asyncio.timeout(TIMEOUT):
        assert await stream.read() is grpc.aio.EOF
    assert await stream.code() == grpc.StatusCode.OK


async def test_cancelled_watchers_leave_nothing_behind(running: Running) -> None:
    portfolio = await create(running, ALICE)
    streams = [_watch(running, portfolio.portfolio_id) for _ in range(50)]
    for stream in streams:
        await _next(stream)
    assert running.service.hub.watched == 1
    for stream in streams:
        stream.cancel()

    async def drained() -> bool:
        return running.service.hub.watched == 0

    await eventually(drained, timeout=TIMEOUT, what="every watcher unsubscribed")
    # The service still serves a new watch.
    again = _watch(running, portfolio.portfolio_id)
    assert (await _next(again)).portfolio.portfolio_id == portfolio.portfolio_id
    again.cancel()
