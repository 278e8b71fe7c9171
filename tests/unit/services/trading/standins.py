"""In-process gRPC servers implementing the generated portfolio and marketdata servicers.

They stand in for the real portfolio and marketdata services in the unit tests of trading: a
real grpc.aio server with the real interceptor chain (tokens verified, `callers` enforced on
the mTLS peer), keeping just the cash, reservations, positions, instruments and quotes the
order saga talks to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from trademesh.marketdata.v1 import marketdata_pb2, marketdata_pb2_grpc
from trademesh.portfolio.v1 import portfolio_pb2, portfolio_pb2_grpc

from mesh import context as call_context
from mesh.errors import FailedPrecondition, NotFound, PermissionDenied
from mesh.money import from_money, text, to_money

Context = grpc.aio.ServicerContext[Any, Any]


@dataclass
class Account:
    user_id: str
    cash: Decimal
    reserved: dict[str, Decimal] = field(default_factory=dict)
    released: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[str, Decimal] = field(default_factory=dict)

    @property
    def available(self) -> Decimal:
        return self.cash - sum(self.reserved.values(), Decimal(0))


class PortfolioStandIn(portfolio_pb2_grpc.PortfolioServiceServicer):
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.reserve_calls = 0
        self.release_calls = 0

    def _account(self, portfolio_id: str) -> Account:
        account = self.accounts.get(portfolio_id)
        if account is None:
            raise NotFound(f"portfolio {portfolio_id} not found", reason="PORTFOLIO_NOT_FOUND")
        return account

    async def ReserveCash(
        self, request: portfolio_pb2.ReserveCashRequest, context: Context
    ) -> portfolio_pb2.ReserveCashResponse:
        self.reserve_calls += 1
        account = self._account(request.portfolio_id)
        if account.user_id != request.user_id:
            raise PermissionDenied("portfolio belongs to another user", reason="NOT_OWNER")
        amount = from_money(request.amount)
        if request.order_id in account.released:
            # As portfolio does: a released (or released-before-reserved) order stays so.
            raise FailedPrecondition(
                f"the reservation of order {request.order_id} was released",
                reason="RESERVATION_RELEASED",
            )
        if request.order_id not in account.reserved:
            if amount > account.available:
                raise FailedPrecondition(
                    f"insufficient cash: {text(account.available)} USD available, "
                    f"{text(amount)} USD needed",
                    reason="INSUFFICIENT_CASH",
                )
            account.reserved[request.order_id] = amount
        held = account.reserved.get(request.order_id, Decimal(0))
        return portfolio_pb2.ReserveCashResponse(
            reserved_amount=to_money(held, "USD"), available_cash=to_money(account.available, "USD")
        )

    async def ReleaseCash(
        self, request: portfolio_pb2.ReleaseCashRequest, context: Context
    ) -> portfolio_pb2.ReleaseCashResponse:
        self.release_calls += 1
        account = self._account(request.portfolio_id)
        amount = account.reserved.pop(request.order_id, Decimal(0))
        account.released[request.order_id] = (
            account.released.get(request.order_id, Decimal(0)) + amount
        )
        return portfolio_pb2.ReleaseCashResponse(
            released_amount=to_money(amount, "USD"),
            available_cash=to_money(account.available, "USD"),
        )

    async def ListPositions(
        self, request: portfolio_pb2.ListPositionsRequest, context: Context
    ) -> portfolio_pb2.ListPositionsResponse:
        principal = call_context.current().principal
        account = self._account(request.portfolio_id)
        if principal is None or principal.user_id != account.user_id:
            raise NotFound(f"portfolio {request.portfolio_id} not found", reason="NOT_FOUND")
        return portfolio_pb2.ListPositionsResponse(
            positions=[
                portfolio_pb2.Position(
                    portfolio_id=request.portfolio_id, symbol=symbol, quantity=text(quantity)
                )
                for symbol, quantity in sorted(account.positions.items())
            ]
        )


class MarketStandIn(marketdata_pb2_grpc.MarketDataServiceServicer):
    def __init__(self) -> None:
        self.instruments: dict[str, marketdata_pb2.Instrument] = {}
        self.quotes: dict[str, marketdata_pb2.Quote] = {}

    def list(self, symbol: str, *, tradable: bool = True, lot_size: str = "1") -> None:
        self.instruments[symbol] = marketdata_pb2.Instrument(
            symbol=symbol, name=symbol, currency="USD", tradable=tradable, lot_size=lot_size
        )

    def set_quote(self, symbol: str, bid: str, ask: str) -> marketdata_pb2.Quote:
        stamp = Timestamp()
        stamp.FromNanoseconds(time.time_ns())
        quote = marketdata_pb2.Quote(
            symbol=symbol,
            bid_price=bid,
            ask_price=ask,
            last_price=ask,
            currency="USD",
            quote_time=stamp,
        )
        self.quotes[symbol] = quote
        return quote

    async def GetInstrument(
        self, request: marketdata_pb2.GetInstrumentRequest, context: Context
    ) -> marketdata_pb2.GetInstrumentResponse:
        if request.symbol not in self.instruments:
            raise NotFound(f"unknown symbol {request.symbol}", reason="INSTRUMENT_NOT_FOUND")
        return marketdata_pb2.GetInstrumentResponse(instrument=self.instruments[request.symbol])

    async def GetQuote(
        self, request: marketdata_pb2.GetQuoteRequest, context: Context
    ) -> marketdata_pb2.GetQuoteResponse:
        if request.symbol not in self.quotes:
            raise NotFound(f"no quote for {request.symbol}", reason="QUOTE_NOT_FOUND")
        return marketdata_pb2.GetQuoteResponse(quote=self.quotes[request.symbol])
