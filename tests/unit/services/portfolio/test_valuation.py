"""Positions, performance and the CSV export, valued with the quotes the test fixes."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal

import grpc
from trademesh.portfolio.v1 import portfolio_pb2

from .conftest import ALICE, TIMEOUT, Running, amount, create, expect, settle_request

pb = portfolio_pb2


async def _holding(running: Running) -> pb.Portfolio:
    """10 000 cash; buy 10 AAPL at 100 (+1 fee), 5 MSFT at 200 (+1 fee); sell 2 AAPL at 110."""
    portfolio = await create(running, ALICE, cash="10000")
    for request in (
        settle_request(portfolio, order_id=str(uuid.uuid4()), quantity="10", price="100"),
        settle_request(
            portfolio, order_id=str(uuid.uuid4()), symbol="MSFT", quantity="5", price="200"
        ),
        settle_request(
            portfolio, order_id=str(uuid.uuid4()), side="sell", quantity="2", price="110", fee="0"
        ),
    ):
        await running.trading.SettleTrade(request, timeout=TIMEOUT)
    return portfolio


async def test_positions_are_valued_at_quotes(running: Running) -> None:
    portfolio = await _holding(running)
    running.quotes.set("AAPL", "120", previous_close="118")
    page = await running.user.ListPositions(
        pb.ListPositionsRequest(portfolio_id=portfolio.portfolio_id, page_size=1),
        metadata=running.as_user(ALICE, "viewer"),
        timeout=TIMEOUT,
    )
    (aapl,) = page.positions
    assert (aapl.symbol, aapl.quantity, aapl.average_cost) == ("AAPL", "8", "100.1")
    assert aapl.market_price == "120"
    assert amount(aapl.market_value) == 960
    assert amount(aapl.unrealized_pnl) == Decimal("960") - Decimal("800.8")
    assert amount(aapl.realized_pnl) == Decimal("220") - Decimal("200.2")
    rest = await running.user.ListPositions(
        pb.ListPositionsRequest(
            portfolio_id=portfolio.portfolio_id, page_size=1, page_token=page.next_page_token
        ),
        metadata=running.as_user(ALICE),
        timeout=TIMEOUT,
    )
    (msft,) = rest.positions
    assert rest.next_page_token == ""
    # No quote for MSFT: its market fields stay unset rather than invented.
    assert msft.symbol == "MSFT" and msft.market_price == ""
    assert not msft.HasField("market_value")


async def test_performance_since_creation_and_today(running: Running) -> None:
    portfolio = await _holding(running)
    running.quotes.set("AAPL", "120", previous_close="118")
    running.quotes.set("MSFT", "190", previous_close="195")
    # cash: 10000 - 1001 - 1001 + 220 = 8218; positions 8 x 120 + 5 x 190 = 1910.
    result = await running.user.GetPerformance(
        pb.GetPerformanceRequest(portfolio_id=portfolio.portfolio_id),
        metadata=running.as_user(ALICE),
        timeout=TIMEOUT,
    )
    performance = result.performance
    assert performance.period == pb.PERFORMANCE_PERIOD_ALL
    assert amount(performance.cash_balance) == 8218
    assert amount(performance.positions_value) == 1910
    assert amount(performance.total_value) == 10128
    assert amount(performance.period_change) == 128
    assert performance.period_return_percent == "1.28"
    assert amount(performance.realized_pnl) == Decimal("19.8")
    # unrealized: AAPL 960 - 800.8, MSFT 950 - 1001
    assert amount(performance.unrealized_pnl) == Decimal("159.2") - Decimal("51")
    assert amount(performance.history[0].value) == 10000
    assert amount(performance.history[-1].value) == 10128
    assert len(performance.history) >= 2

    day = await running.user.GetPerformance(
        pb.GetPerformanceRequest(
            portfolio_id=portfolio.portfolio_id, period=pb.PERFORMANCE_PERIOD_DAY
        ),
        metadata=running.as_user(ALICE),
        timeout=TIMEOUT,
    )
    # Every trade was today, so the day started from the 10 000 cash alone.
    assert amount(day.performance.period_change) == 128
    assert day.performance.period == pb.PERFORMANCE_PERIOD_DAY


async def test_performance_without_quotes_uses_last_trade_prices(running: Running) -> None:
    portfolio = await _holding(running)
    result = await running.user.GetPerformance(
        pb.GetPerformanceRequest(
            portfolio_id=portfolio.portfolio_id, period=pb.PERFORMANCE_PERIOD_WEEK
        ),
        metadata=running.as_user(ALICE),
        timeout=TIMEOUT,
    )
    # AAPL at its last trade 110, MSFT at 200.
    assert amount(result.performance.positions_value) == Decimal("1880")


async def test_export_is_rfc4180_csv(running: Running) -> None:
    portfolio = await _holding(running)
    running.quotes.set("AAPL", "120")
    exported = await running.user.ExportPortfolio(
        pb.ExportPortfolioRequest(portfolio_id=portfolio.portfolio_id),
        metadata=running.as_user(ALICE, "viewer"),
        timeout=TIMEOUT,
    )
    assert exported.content_type == "text/csv; charset=utf-8"
    assert exported.filename == f"portfolio-{portfolio.portfolio_id}.csv"
    text = exported.content.decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["type"] for row in rows] == ["CASH", "RESERVED_CASH", "POSITION", "POSITION"]
    assert rows[0]["market_value"] == "8218"
    assert rows[1]["market_value"] == "0"
    aapl, msft = rows[2], rows[3]
    assert (aapl["symbol"], aapl["quantity"], aapl["market_value"]) == ("AAPL", "8", "960")
    assert aapl["unrealized_pnl"] == "159.2"
    assert (msft["symbol"], msft["market_price"], msft["cost_basis"]) == ("MSFT", "", "1001")


async def test_an_unknown_period_is_invalid(running: Running) -> None:
    portfolio = await create(running, ALICE)
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        running.user.GetPerformance(
            pb.GetPerformanceRequest(portfolio_id=portfolio.portfolio_id, period=42),  # type: ignore[arg-type]
            metadata=running.as_user(ALICE),
            timeout=TIMEOUT,
        ),
    )
