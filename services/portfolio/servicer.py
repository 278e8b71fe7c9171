"""PortfolioService over gRPC: each RPC unpacks its request, calls the ledger or a read, and
packs the answer. The caller comes from `mesh.context` (set by the auth interceptor);
failures are `DomainError`s, which the error interceptor turns into status codes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from trademesh.portfolio.v1 import portfolio_pb2, portfolio_pb2_grpc

from mesh import context as call_context
from mesh import paging as mesh_paging
from mesh.context import Principal
from mesh.store import Database
from services.portfolio import convert, export, money, paging, performance, valuation
from services.portfolio.access import require_principal, visible
from services.portfolio.hub import WatchHub
from services.portfolio.ledger import Ledger
from services.portfolio.quotes import QuoteProvider
from services.portfolio.store import Snapshot, queries, snapshot
from services.portfolio.trades import trade_input_from_request

ServicerContext = grpc.aio.ServicerContext[Any, Any]
pb = portfolio_pb2

DEFAULT_CURRENCY = "USD"
PORTFOLIOS_PAGE = 50
POSITIONS_PAGE = 100


def _caller() -> Principal:
    return require_principal(call_context.current().principal)


class PortfolioServicer(portfolio_pb2_grpc.PortfolioServiceServicer):
    def __init__(
        self,
        ledger: Ledger,
        quotes: QuoteProvider,
        hub: WatchHub,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._ledger = ledger
        self._db: Database = ledger.db
        self._quotes = quotes
        self._hub = hub
        self._now = now

    async def _visible_snapshot(self, caller: Principal, portfolio_id: str) -> Snapshot:
        found = await snapshot(self._db, portfolio_id)
        visible(caller, None if found is None else found.portfolio, portfolio_id)
        assert found is not None
        return found

    # -- portfolios --

    async def CreatePortfolio(
        self, request: pb.CreatePortfolioRequest, context: ServicerContext
    ) -> pb.CreatePortfolioResponse:
        currency = request.base_currency or DEFAULT_CURRENCY
        initial = money.ZERO
        if request.HasField("initial_cash"):
            initial = money.from_money(request.initial_cash, "initial_cash", currency=currency)
        record = await self._ledger.create(
            _caller(),
            name=request.name,
            description=request.description,
            base_currency=currency,
            initial_cash=initial,
        )
        return pb.CreatePortfolioResponse(portfolio=convert.portfolio_message(record))

    async def GetPortfolio(
        self, request: pb.GetPortfolioRequest, context: ServicerContext
    ) -> pb.GetPortfolioResponse:
        async with self._db.transaction() as tx:
            record = await queries.portfolio(tx, request.portfolio_id)
        record = visible(_caller(), record, request.portfolio_id)
        return pb.GetPortfolioResponse(portfolio=convert.portfolio_message(record))

    async def ListPortfolios(
        self, request: pb.ListPortfoliosRequest, context: ServicerContext
    ) -> pb.ListPortfoliosResponse:
        caller = _caller()
        size = mesh_paging.page_size(request.page_size, default=PORTFOLIOS_PAGE)
        scope = {"user_id": caller.user_id}
        key = paging.decode(paging.PORTFOLIOS, request.page_token, scope)
        after = None if key is None else (key[0], key[1])
        async with self._db.transaction() as tx:
            rows = await queries.user_portfolios(tx, caller.user_id, after=after, limit=size + 1)
        page, more = rows[:size], len(rows) > size
        token = ""
        if more:
            token = paging.PORTFOLIOS.encode((page[-1].created_at, page[-1].portfolio_id), scope)
        return pb.ListPortfoliosResponse(
            portfolios=[convert.portfolio_message(r) for r in page], next_page_token=token
        )

    async def UpdatePortfolio(
        self, request: pb.UpdatePortfolioRequest, context: ServicerContext
    ) -> pb.UpdatePortfolioResponse:
        record = await self._ledger.update(
            _caller(),
            request.portfolio_id,
            paths=list(request.update_mask.paths),
            name=request.portfolio.name,
            description=request.portfolio.description,
        )
        return pb.UpdatePortfolioResponse(portfolio=convert.portfolio_message(record))

    async def DeletePortfolio(
        self, request: pb.DeletePortfolioRequest, context: ServicerContext
    ) -> pb.DeletePortfolioResponse:
        await self._ledger.delete(_caller(), request.portfolio_id)
        return pb.DeletePortfolioResponse()

    # -- holdings and value --

    async def ListPositions(
        self, request: pb.ListPositionsRequest, context: ServicerContext
    ) -> pb.ListPositionsResponse:
        caller = _caller()
        size = mesh_paging.page_size(request.page_size, default=POSITIONS_PAGE)
        scope = {"portfolio_id": request.portfolio_id}
        key = paging.decode(paging.POSITIONS, request.page_token, scope)
        async with self._db.transaction() as tx:
            record = visible(
                caller, await queries.portfolio(tx, request.portfolio_id), request.portfolio_id
            )
            rows = await queries.open_positions_page(
                tx, request.portfolio_id, after=None if key is None else key[0], limit=size + 1
            )
        page, more = rows[:size], len(rows) > size
        prices = await self._quotes.prices([p.symbol for p in page])
        return pb.ListPositionsResponse(
            positions=valuation.positions(page, record.base_currency, prices),
            next_page_token=paging.POSITIONS.encode((page[-1].symbol,), scope) if more else "",
        )

    async def GetPerformance(
        self, request: pb.GetPerformanceRequest, context: ServicerContext
    ) -> pb.GetPerformanceResponse:
        caller = _caller()
        async with self._db.transaction() as tx:
            record = visible(
                caller, await queries.portfolio(tx, request.portfolio_id), request.portfolio_id
            )
        now = self._now()
        start = performance.period_start(request.period, record.created_at, now)
        found = await performance.history(self._db, record, start)
        symbols = {p.symbol for p in found.positions if p.is_open}
        symbols |= {t.symbol for t in found.trades}
        prices = await self._quotes.prices(sorted(symbols))
        return pb.GetPerformanceResponse(
            performance=performance.performance(found, request.period, prices, now)
        )

    async def ExportPortfolio(
        self, request: pb.ExportPortfolioRequest, context: ServicerContext
    ) -> pb.ExportPortfolioResponse:
        found = await self._visible_snapshot(_caller(), request.portfolio_id)
        prices = await self._quotes.prices([p.symbol for p in found.open_positions])
        return pb.ExportPortfolioResponse(
            content=await export.render_csv(found, prices),
            content_type=export.CONTENT_TYPE,
            filename=export.filename(request.portfolio_id),
        )

    async def WatchPortfolio(
        self, request: pb.WatchPortfolioRequest, context: ServicerContext
    ) -> AsyncIterator[pb.WatchPortfolioResponse]:
        found = await self._visible_snapshot(_caller(), request.portfolio_id)
        # Prices fetched with the caller's token seed the quote book the watch values from.
        await self._quotes.prices([p.symbol for p in found.open_positions])
        async with self._hub.watch(request.portfolio_id) as watcher:
            while True:
                message = await watcher.next()
                if message is None:
                    return
                yield message

    # -- cash for orders (trading only) --

    async def ReserveCash(
        self, request: pb.ReserveCashRequest, context: ServicerContext
    ) -> pb.ReserveCashResponse:
        amount = money.from_money(request.amount, "amount")
        moved = await self._ledger.reserve(
            request.portfolio_id,
            request.order_id,
            request.user_id,
            amount,
            request.amount.currency_code,
        )
        currency = moved.portfolio.base_currency
        return pb.ReserveCashResponse(
            reserved_amount=money.to_money(moved.amount, currency),
            available_cash=money.to_money(moved.portfolio.available, currency),
        )

    async def ReleaseCash(
        self, request: pb.ReleaseCashRequest, context: ServicerContext
    ) -> pb.ReleaseCashResponse:
        amount = currency = None
        if request.HasField("amount"):
            amount = money.from_money(request.amount, "amount")
            currency = request.amount.currency_code
        moved = await self._ledger.release(request.portfolio_id, request.order_id, amount, currency)
        base = moved.portfolio.base_currency
        return pb.ReleaseCashResponse(
            released_amount=money.to_money(moved.amount, base),
            available_cash=money.to_money(moved.portfolio.available, base),
        )

    async def SettleTrade(
        self, request: pb.SettleTradeRequest, context: ServicerContext
    ) -> pb.SettleTradeResponse:
        settlement = await self._ledger.settle(trade_input_from_request(request))
        assert settlement is not None
        currency = settlement.portfolio.base_currency
        return pb.SettleTradeResponse(
            position=convert.position_message(settlement.position, currency),
            portfolio=convert.portfolio_message(settlement.portfolio),
        )
