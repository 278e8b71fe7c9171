"""Callers that vanish: channels closed with hundreds of calls in flight and tiny deadlines
leave the store whole and usable, from this process and from another connection to the same
database file."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from decimal import Decimal

import grpc
from trademesh.portfolio.v1 import portfolio_pb2, portfolio_pb2_grpc

from mesh.store import Database, open_database
from mesh.tls import channel_options, load_service_credentials
from services.portfolio import PortfolioConfig
from services.portfolio.store import queries

from .conftest import ALICE, TIMEOUT, Running, amount, create, reserve_request, settle_request

pb = portfolio_pb2


async def _consistent(running: Running, portfolio_id: str) -> None:
    async with running.service.db.transaction() as tx:
        record = await queries.portfolio(tx, portfolio_id)
        open_ones = await queries.open_reservations(tx, portfolio_id)
        reservations = await tx.fetchall(
            "SELECT COUNT(*) FROM reservations WHERE portfolio_id = ? AND amount <> '0'",
            (portfolio_id,),
        )
        trades = await tx.fetchall(
            "SELECT COUNT(*) FROM trades WHERE portfolio_id = ?", (portfolio_id,)
        )
        events = await tx.fetchall(
            "SELECT COUNT(*) FROM outbox WHERE event_key = ?", (portfolio_id,)
        )
    assert record is not None
    assert record.reserved == sum((r.remaining for r in open_ones), Decimal(0))
    # One CREATED, one CASH_RESERVED per reservation, one TRADE_SETTLED per trade.
    assert events[0][0] == 1 + reservations[0][0] + trades[0][0]


async def _vanish(running: Running, portfolio: pb.Portfolio, calls: int) -> None:
    channel = grpc.aio.secure_channel(
        running.secure_address,
        _trading_credentials(running),
        options=_options(),
    )
    await channel.channel_ready()
    stub = portfolio_pb2_grpc.PortfolioServiceStub(channel)
    before = await _applied(running)
    pending = []
    for i in range(calls):
        if i % 2:
            request = settle_request(portfolio, order_id=str(uuid.uuid4()), quantity="1", price="1")
            pending.append(asyncio.ensure_future(stub.SettleTrade(request, timeout=TIMEOUT)))
        else:
            pending.append(
                asyncio.ensure_future(
                    stub.ReserveCash(reserve_request(portfolio, "1"), timeout=TIMEOUT)
                )
            )
    # Close while the calls are being applied: some have committed, the rest are in flight.
    async with asyncio.timeout(TIMEOUT):
        while await _applied(running) < before + calls // 10:
            await asyncio.sleep(0)
    await channel.close()
    for call in pending:
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
            await call


async def _applied(running: Running) -> int:
    async with running.service.db.transaction() as tx:
        row = await tx.fetchone("SELECT COUNT(*) FROM outbox")
    assert row is not None
    return int(row[0])


def _trading_credentials(running: Running) -> grpc.ChannelCredentials:
    return load_service_credentials(running.tls, "trading").channel_credentials()


def _options() -> list[tuple[str, str]]:
    return list(channel_options("portfolio"))


async def vanishing_callers(running: Running, other: Database) -> None:
    """Hundreds of calls on channels closed under them and with tiny deadlines; then this
    service and `other` (another connection to the same database) still read and write."""
    portfolio = await create(running, ALICE, cash="1000000")
    for _ in range(3):
        await _vanish(running, portfolio, 200)
    tiny = []
    for i in range(200):
        request = reserve_request(portfolio, "1")
        tiny.append(running.trading.ReserveCash(request, timeout=0.001 * (i % 20 + 1)))
    for call in tiny:
        with contextlib.suppress(grpc.aio.AioRpcError):
            await call

    await _consistent(running, portfolio.portfolio_id)
    async with running.service.db.transaction() as tx:
        counts = await tx.fetchone("SELECT COUNT(*) FROM reservations")
    assert counts is not None and 0 < counts[0] < 300 + 200  # some calls applied, not all
    # This process still reads and writes...
    reserved = await running.trading.ReserveCash(reserve_request(portfolio, "5"), timeout=TIMEOUT)
    assert amount(reserved.reserved_amount) == 5
    got = await running.user.GetPortfolio(
        pb.GetPortfolioRequest(portfolio_id=portfolio.portfolio_id),
        metadata=running.as_user(ALICE),
        timeout=TIMEOUT,
    )
    assert amount(got.portfolio.available_cash) == amount(reserved.available_cash)
    # ...and so does another connection to the same database (another instance).
    async with asyncio.timeout(TIMEOUT), other.transaction(write=True) as tx:
        await tx.execute(
            "UPDATE portfolios SET description = ? WHERE portfolio_id = ?",
            ("written by another instance", portfolio.portfolio_id),
        )
    await _consistent(running, portfolio.portfolio_id)


async def test_closed_channels_and_tiny_deadlines_leave_the_store_usable(
    running: Running, config: PortfolioConfig
) -> None:
    other = open_database(None, config.sqlite_path)
    try:
        await vanishing_callers(running, other)
    finally:
        await other.close()
