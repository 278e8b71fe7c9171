"""PortfolioService over a real grpc.aio server with the real interceptor chain: portfolios,
who may see them, paging and bad input."""

from __future__ import annotations

import inspect
import uuid

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from trademesh.portfolio.v1 import events_pb2, portfolio_pb2, portfolio_pb2_grpc

from services.portfolio import PortfolioServicer

from .conftest import (
    ALICE,
    BOB,
    ROOT,
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


def test_the_service_spec_names_the_service(running: Running) -> None:
    spec = running.service.service_spec()
    assert spec.name == "portfolio"
    assert [s.full_name for s in spec.servicers] == ["trademesh.portfolio.v1.PortfolioService"]
    assert list(spec.workers) == [running.service]
    assert list(spec.on_stop) == [running.service.close]


def test_every_rpc_of_the_contract_is_implemented() -> None:
    service = pb.DESCRIPTOR.services_by_name["PortfolioService"]
    assert len(service.methods) == 12
    for method in service.methods:
        ours = getattr(PortfolioServicer, method.name)
        assert ours is not getattr(portfolio_pb2_grpc.PortfolioServiceServicer, method.name)
        if method.server_streaming:
            assert inspect.isasyncgenfunction(ours), method.name
        else:
            assert inspect.iscoroutinefunction(ours), method.name


async def test_create_get_and_the_created_event(running: Running) -> None:
    created = await running.user.CreatePortfolio(
        pb.CreatePortfolioRequest(
            name="Growth", description="long term", initial_cash=usd("2500.50")
        ),
        metadata=running.as_user(ALICE),
        timeout=TIMEOUT,
    )
    portfolio = created.portfolio
    assert portfolio.user_id == ALICE
    assert portfolio.base_currency == "USD"
    assert amount(portfolio.cash_balance) == amount(usd("2500.50"))
    assert amount(portfolio.available_cash) == amount(usd("2500.50"))
    assert amount(portfolio.reserved_cash) == 0

    got = await running.user.GetPortfolio(
        pb.GetPortfolioRequest(portfolio_id=portfolio.portfolio_id),
        metadata=running.as_user(ALICE, "viewer"),
        timeout=TIMEOUT,
    )
    assert got.portfolio == portfolio

    (event,) = await outbox_events(running.service)
    assert event.change == events_pb2.PORTFOLIO_CHANGE_CREATED
    assert event.portfolio == portfolio
    assert event.event_id


async def test_no_initial_cash_means_none(running: Running) -> None:
    created = await running.user.CreatePortfolio(
        pb.CreatePortfolioRequest(name="Empty", base_currency="EUR"),
        metadata=running.as_user(ALICE),
        timeout=TIMEOUT,
    )
    assert created.portfolio.base_currency == "EUR"
    assert amount(created.portfolio.cash_balance) == 0
    assert created.portfolio.cash_balance.currency_code == "EUR"


async def test_another_users_portfolio_does_not_exist_for_them(running: Running) -> None:
    mine = await create(running, ALICE)
    request = pb.GetPortfolioRequest(portfolio_id=mine.portfolio_id)
    await expect(
        grpc.StatusCode.NOT_FOUND,
        running.user.GetPortfolio(request, metadata=running.as_user(BOB), timeout=TIMEOUT),
    )
    for call in (
        running.user.ListPositions(
            pb.ListPositionsRequest(portfolio_id=mine.portfolio_id),
            metadata=running.as_user(BOB),
            timeout=TIMEOUT,
        ),
        running.user.GetPerformance(
            pb.GetPerformanceRequest(portfolio_id=mine.portfolio_id),
            metadata=running.as_user(BOB),
            timeout=TIMEOUT,
        ),
        running.user.ExportPortfolio(
            pb.ExportPortfolioRequest(portfolio_id=mine.portfolio_id),
            metadata=running.as_user(BOB),
            timeout=TIMEOUT,
        ),
        running.user.DeletePortfolio(
            pb.DeletePortfolioRequest(portfolio_id=mine.portfolio_id),
            metadata=running.as_user(BOB),
            timeout=TIMEOUT,
        ),
        running.user.UpdatePortfolio(
            pb.UpdatePortfolioRequest(
                portfolio_id=mine.portfolio_id,
                portfolio=pb.Portfolio(name="mine now"),
                update_mask=FieldMask(paths=["name"]),
            ),
            metadata=running.as_user(BOB),
            timeout=TIMEOUT,
        ),
    ):
        await expect(grpc.StatusCode.NOT_FOUND, call)
    listed = await running.user.ListPortfolios(
        pb.ListPortfoliosRequest(), metadata=running.as_user(BOB), timeout=TIMEOUT
    )
    assert list(listed.portfolios) == []
    # The owner's portfolio is untouched; an admin sees it.
    got = await running.user.GetPortfolio(
        request, metadata=running.as_user(ROOT, "admin"), timeout=TIMEOUT
    )
    assert got.portfolio.name == mine.name


async def test_unknown_ids_and_missing_tokens(running: Running) -> None:
    await expect(
        grpc.StatusCode.NOT_FOUND,
        running.user.GetPortfolio(
            pb.GetPortfolioRequest(portfolio_id=str(uuid.uuid4())),
            metadata=running.as_user(ALICE),
            timeout=TIMEOUT,
        ),
    )
    await expect(
        grpc.StatusCode.UNAUTHENTICATED,
        running.user.ListPortfolios(pb.ListPortfoliosRequest(), timeout=TIMEOUT),
    )
    # Viewers read; they do not open portfolios.
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        running.user.CreatePortfolio(
            pb.CreatePortfolioRequest(name="x"),
            metadata=running.as_user(ALICE, "viewer"),
            timeout=TIMEOUT,
        ),
    )


async def test_bad_input_is_invalid_argument_and_changes_nothing(running: Running) -> None:
    for request in (
        pb.CreatePortfolioRequest(name=""),
        pb.CreatePortfolioRequest(name="x", base_currency="usd"),
        pb.CreatePortfolioRequest(name="x", initial_cash=usd("-5")),
        pb.CreatePortfolioRequest(name="x", base_currency="EUR", initial_cash=usd("5")),
        pb.CreatePortfolioRequest(name="   "),
    ):
        await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            running.user.CreatePortfolio(request, metadata=running.as_user(ALICE), timeout=TIMEOUT),
        )
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        running.user.GetPortfolio(
            pb.GetPortfolioRequest(portfolio_id="not-a-uuid"),
            metadata=running.as_user(ALICE),
            timeout=TIMEOUT,
        ),
    )
    assert await outbox_events(running.service) == []


async def test_names_are_unique_per_user(running: Running) -> None:
    await create(running, ALICE, name="Main")
    await expect(
        grpc.StatusCode.ALREADY_EXISTS,
        running.user.CreatePortfolio(
            pb.CreatePortfolioRequest(name="Main"), metadata=running.as_user(ALICE), timeout=TIMEOUT
        ),
    )
    await create(running, BOB, name="Main")  # another user may use the name


async def test_list_pages_oldest_first(running: Running) -> None:
    names = [f"p{i}" for i in range(5)]
    for name in names:
        await create(running, ALICE, name=name)
    await create(running, BOB)
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await running.user.ListPortfolios(
            pb.ListPortfoliosRequest(page_size=2, page_token=token),
            metadata=running.as_user(ALICE),
            timeout=TIMEOUT,
        )
        seen += [p.name for p in page.portfolios]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == names
    assert pages == 3
    # A token is bound to its listing: Bob cannot page through Alice's.
    first = await running.user.ListPortfolios(
        pb.ListPortfoliosRequest(page_size=1), metadata=running.as_user(ALICE), timeout=TIMEOUT
    )
    for token in (first.next_page_token, "garbage!"):
        await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            running.user.ListPortfolios(
                pb.ListPortfoliosRequest(page_token=token),
                metadata=running.as_user(BOB),
                timeout=TIMEOUT,
            ),
        )


async def test_update_names_and_describes(running: Running) -> None:
    portfolio = await create(running, ALICE, name="Old")
    updated = await running.user.UpdatePortfolio(
        pb.UpdatePortfolioRequest(
            portfolio_id=portfolio.portfolio_id,
            portfolio=pb.Portfolio(name="New", description="ignored"),
            update_mask=FieldMask(paths=["name"]),
        ),
        metadata=running.as_user(ALICE),
        timeout=TIMEOUT,
    )
    assert updated.portfolio.name == "New"
    assert updated.portfolio.description == ""
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        running.user.UpdatePortfolio(
            pb.UpdatePortfolioRequest(
                portfolio_id=portfolio.portfolio_id,
                portfolio=pb.Portfolio(base_currency="EUR"),
                update_mask=FieldMask(paths=["base_currency"]),
            ),
            metadata=running.as_user(ALICE),
            timeout=TIMEOUT,
        ),
    )
    events = await outbox_events(running.service)
    assert [e.change for e in events] == [
        events_pb2.PORTFOLIO_CHANGE_CREATED,
        events_pb2.PORTFOLIO_CHANGE_UPDATED,
    ]


async def test_delete_refuses_while_cash_is_reserved_or_positions_held(running: Running) -> None:
    portfolio = await create(running, ALICE, cash="1000")
    delete = pb.DeletePortfolioRequest(portfolio_id=portfolio.portfolio_id)
    order_id = str(uuid.uuid4())
    await running.trading.ReserveCash(reserve_request(portfolio, "500", order_id), timeout=TIMEOUT)
    error = await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        running.user.DeletePortfolio(delete, metadata=running.as_user(ALICE), timeout=TIMEOUT),
    )
    assert "reserved" in (error.details() or "")
    await running.trading.SettleTrade(
        settle_request(portfolio, order_id=order_id, quantity="2", price="100"), timeout=TIMEOUT
    )
    error = await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        running.user.DeletePortfolio(delete, metadata=running.as_user(ALICE), timeout=TIMEOUT),
    )
    assert "AAPL" in (error.details() or "")
    await running.trading.SettleTrade(
        settle_request(portfolio, order_id=str(uuid.uuid4()), side="sell", quantity="2"),
        timeout=TIMEOUT,
    )
    await running.user.DeletePortfolio(delete, metadata=running.as_user(ALICE), timeout=TIMEOUT)
    # Deleting again succeeds; the portfolio is gone for reads.
    await running.user.DeletePortfolio(delete, metadata=running.as_user(ALICE), timeout=TIMEOUT)
    await expect(
        grpc.StatusCode.NOT_FOUND,
        running.user.GetPortfolio(
            pb.GetPortfolioRequest(portfolio_id=portfolio.portfolio_id),
            metadata=running.as_user(ALICE),
            timeout=TIMEOUT,
        ),
    )
    deleted = [
        e
        for e in await outbox_events(running.service)
        if e.change == events_pb2.PORTFOLIO_CHANGE_DELETED
    ]
    assert len(deleted) == 1
