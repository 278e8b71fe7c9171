"""The trading-only RPCs of the order saga: ReserveCash, ReleaseCash and SettleTrade, called
over mTLS with the trading service's certificate."""

from __future__ import annotations

import uuid
from decimal import Decimal

import grpc
from google.rpc import error_details_pb2
from trademesh.portfolio.v1 import events_pb2, portfolio_pb2

from interceptors import status_details

from .conftest import (
    ALICE,
    BOB,
    TIMEOUT,
    Running,
    amount,
    create,
    expect,
    outbox_events,
    reserve_request,
    settle_request,
    usd,
)

pb = portfolio_pb2


async def _portfolio(running: Running, portfolio_id: str) -> pb.Portfolio:
    response = await running.user.GetPortfolio(
        pb.GetPortfolioRequest(portfolio_id=portfolio_id),
        metadata=running.as_user(ALICE),
        timeout=TIMEOUT,
    )
    portfolio: pb.Portfolio = response.portfolio
    return portfolio


async def _open_reservations(running: Running) -> int:
    async with running.service.db.transaction() as tx:
        row = await tx.fetchone("SELECT COUNT(*) FROM reservations WHERE status = 'open'")
    assert row is not None
    return int(row[0])


async def test_only_trading_may_move_cash(running: Running) -> None:
    portfolio = await create(running, ALICE)
    request = reserve_request(portfolio, "10")
    await expect(
        grpc.StatusCode.PERMISSION_DENIED, running.edge.ReserveCash(request, timeout=TIMEOUT)
    )
    await expect(
        grpc.StatusCode.UNAUTHENTICATED,
        running.user.ReserveCash(request, metadata=running.as_user(ALICE), timeout=TIMEOUT),
    )
    assert await _open_reservations(running) == 0


async def test_reserve_is_idempotent_per_order(running: Running) -> None:
    portfolio = await create(running, ALICE, cash="1000")
    request = reserve_request(portfolio, "400.25")
    first = await running.trading.ReserveCash(request, timeout=TIMEOUT)
    again = await running.trading.ReserveCash(request, timeout=TIMEOUT)
    assert amount(first.reserved_amount) == Decimal("400.25")
    assert amount(first.available_cash) == Decimal("599.75")
    assert again == first
    after = await _portfolio(running, portfolio.portfolio_id)
    assert amount(after.reserved_cash) == Decimal("400.25")
    assert amount(after.cash_balance) == Decimal("1000")
    reserved = [
        e
        for e in await outbox_events(running.service)
        if e.change == events_pb2.PORTFOLIO_CHANGE_CASH_RESERVED
    ]
    assert [e.order_id for e in reserved] == [request.order_id]
    # The same order with another amount is a conflict, not a second reservation.
    request.amount.CopyFrom(usd("1"))
    await expect(grpc.StatusCode.ABORTED, running.trading.ReserveCash(request, timeout=TIMEOUT))


async def test_insufficient_cash_is_a_readable_failed_precondition(running: Running) -> None:
    portfolio = await create(running, ALICE, cash="100")
    await running.trading.ReserveCash(reserve_request(portfolio, "60"), timeout=TIMEOUT)
    error = await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        running.trading.ReserveCash(reserve_request(portfolio, "40.01"), timeout=TIMEOUT),
    )
    assert error.details() == (
        "insufficient cash: the order needs 40.01 USD, 40.00 USD is available"
    )
    info = status_details(error).find(error_details_pb2.ErrorInfo)
    assert info is not None and info.reason == "INSUFFICIENT_CASH"
    assert info.metadata["available"] == "40"
    assert await _open_reservations(running) == 1
    after = await _portfolio(running, portfolio.portfolio_id)
    assert amount(after.reserved_cash) == Decimal("60")
    # Exactly what is available can still be reserved.
    await running.trading.ReserveCash(reserve_request(portfolio, "40"), timeout=TIMEOUT)


async def test_reserve_for_someone_elses_portfolio_is_refused(running: Running) -> None:
    portfolio = await create(running, ALICE)
    request = reserve_request(portfolio, "10")
    request.user_id = BOB
    error = await expect(
        grpc.StatusCode.PERMISSION_DENIED, running.trading.ReserveCash(request, timeout=TIMEOUT)
    )
    info = status_details(error).find(error_details_pb2.ErrorInfo)
    assert info is not None and info.reason == "PORTFOLIO_NOT_OWNED"
    request.portfolio_id = str(uuid.uuid4())
    await expect(grpc.StatusCode.NOT_FOUND, running.trading.ReserveCash(request, timeout=TIMEOUT))
    wrong_currency = reserve_request(portfolio, "10")
    wrong_currency.amount.currency_code = "EUR"
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        running.trading.ReserveCash(wrong_currency, timeout=TIMEOUT),
    )
    assert await _open_reservations(running) == 0


async def test_release_returns_the_rest_and_is_idempotent(running: Running) -> None:
    portfolio = await create(running, ALICE, cash="1000")
    order_id = str(uuid.uuid4())
    await running.trading.ReserveCash(reserve_request(portfolio, "300", order_id), timeout=TIMEOUT)
    partial = await running.trading.ReleaseCash(
        pb.ReleaseCashRequest(
            portfolio_id=portfolio.portfolio_id, order_id=order_id, amount=usd("100")
        ),
        timeout=TIMEOUT,
    )
    assert amount(partial.released_amount) == 100
    assert amount(partial.available_cash) == 800
    release_all = pb.ReleaseCashRequest(portfolio_id=portfolio.portfolio_id, order_id=order_id)
    rest = await running.trading.ReleaseCash(release_all, timeout=TIMEOUT)
    assert amount(rest.released_amount) == 200
    assert amount(rest.available_cash) == 1000
    again = await running.trading.ReleaseCash(release_all, timeout=TIMEOUT)
    assert amount(again.released_amount) == 0
    assert amount(again.available_cash) == 1000
    # A released reservation cannot be taken again by a late retry.
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        running.trading.ReserveCash(reserve_request(portfolio, "300", order_id), timeout=TIMEOUT),
    )


async def test_release_before_reserve_blocks_the_late_reserve(running: Running) -> None:
    portfolio = await create(running, ALICE, cash="1000")
    order_id = str(uuid.uuid4())
    released = await running.trading.ReleaseCash(
        pb.ReleaseCashRequest(portfolio_id=portfolio.portfolio_id, order_id=order_id),
        timeout=TIMEOUT,
    )
    assert amount(released.released_amount) == 0
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        running.trading.ReserveCash(reserve_request(portfolio, "10", order_id), timeout=TIMEOUT),
    )
    assert amount((await _portfolio(running, portfolio.portfolio_id)).reserved_cash) == 0


async def test_a_buy_consumes_its_reservation_and_releases_the_rest(running: Running) -> None:
    portfolio = await create(running, ALICE, cash="10000")
    order_id = str(uuid.uuid4())
    await running.trading.ReserveCash(reserve_request(portfolio, "1100", order_id), timeout=TIMEOUT)
    settled = await running.trading.SettleTrade(
        settle_request(portfolio, order_id=order_id, quantity="10", price="100.5", fee="1.25"),
        timeout=TIMEOUT,
    )
    # 10 x 100.5 + 1.25 = 1006.25 spent; the other 93.75 reserved is free again.
    assert amount(settled.portfolio.cash_balance) == Decimal("8993.75")
    assert amount(settled.portfolio.reserved_cash) == 0
    assert amount(settled.portfolio.available_cash) == Decimal("8993.75")
    assert settled.position.symbol == "AAPL"
    assert settled.position.quantity == "10"
    assert settled.position.average_cost == "100.625"
    assert amount(settled.position.cost_basis) == Decimal("1006.25")
    assert await _open_reservations(running) == 0


async def test_the_same_trade_settles_once(running: Running) -> None:
    portfolio = await create(running, ALICE, cash="10000")
    order_id = str(uuid.uuid4())
    await running.trading.ReserveCash(reserve_request(portfolio, "1001", order_id), timeout=TIMEOUT)
    request = settle_request(portfolio, order_id=order_id, quantity="10", price="100")
    first = await running.trading.SettleTrade(request, timeout=TIMEOUT)
    second = await running.trading.SettleTrade(request, timeout=TIMEOUT)
    assert second.position.quantity == first.position.quantity == "10"
    assert amount(second.portfolio.cash_balance) == amount(first.portfolio.cash_balance) == 8999
    settled = [
        e
        for e in await outbox_events(running.service)
        if e.change == events_pb2.PORTFOLIO_CHANGE_TRADE_SETTLED
    ]
    assert [e.trade_id for e in settled] == [request.trade_id]
    assert settled[0].positions[0].quantity == "10"


async def test_a_sell_realizes_profit_and_keeps_average_cost(running: Running) -> None:
    portfolio = await create(running, ALICE, cash="10000")
    buy = settle_request(portfolio, order_id=str(uuid.uuid4()), quantity="10", price="100", fee="0")
    buy.ClearField("fee")
    await running.trading.SettleTrade(buy, timeout=TIMEOUT)
    sold = await running.trading.SettleTrade(
        settle_request(
            portfolio, order_id=str(uuid.uuid4()), side="sell", quantity="4", price="110", fee="2"
        ),
        timeout=TIMEOUT,
    )
    # Proceeds 440 - 2 = 438; cost of the 4 sold 400; realized 38.
    assert sold.position.quantity == "6"
    assert sold.position.average_cost == "100"
    assert amount(sold.position.realized_pnl) == 38
    assert amount(sold.portfolio.cash_balance) == Decimal("9438")
    positions = await running.user.ListPositions(
        pb.ListPositionsRequest(portfolio_id=portfolio.portfolio_id),
        metadata=running.as_user(ALICE),
        timeout=TIMEOUT,
    )
    assert [(p.symbol, p.quantity) for p in positions.positions] == [("AAPL", "6")]


async def test_selling_more_than_held_or_buying_beyond_cash_changes_nothing(
    running: Running,
) -> None:
    portfolio = await create(running, ALICE, cash="500")
    oversell = settle_request(portfolio, order_id=str(uuid.uuid4()), side="sell", quantity="1")
    error = await expect(
        grpc.StatusCode.FAILED_PRECONDITION, running.trading.SettleTrade(oversell, timeout=TIMEOUT)
    )
    assert "holds 0" in (error.details() or "")
    too_dear = settle_request(portfolio, order_id=str(uuid.uuid4()), quantity="10", price="100")
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION, running.trading.SettleTrade(too_dear, timeout=TIMEOUT)
    )
    after = await _portfolio(running, portfolio.portfolio_id)
    assert amount(after.cash_balance) == 500
    assert [e.change for e in await outbox_events(running.service)] == [
        events_pb2.PORTFOLIO_CHANGE_CREATED
    ]


async def test_settle_rejects_bad_trades(running: Running) -> None:
    portfolio = await create(running, ALICE, cash="500")
    for change in (
        {"quantity": "0"},
        {"quantity": "1e3"},
        {"price": "-1"},
        {"symbol": "aapl"},
    ):
        request = settle_request(portfolio, order_id=str(uuid.uuid4()))
        for name, value in change.items():
            setattr(request, name, value)
        await expect(
            grpc.StatusCode.INVALID_ARGUMENT, running.trading.SettleTrade(request, timeout=TIMEOUT)
        )
    request = settle_request(portfolio, order_id=str(uuid.uuid4()), quantity="1")
    request.notional.currency_code = "EUR"
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT, running.trading.SettleTrade(request, timeout=TIMEOUT)
    )
    request = settle_request(portfolio, order_id=str(uuid.uuid4()))
    request.portfolio_id = str(uuid.uuid4())
    await expect(grpc.StatusCode.NOT_FOUND, running.trading.SettleTrade(request, timeout=TIMEOUT))
