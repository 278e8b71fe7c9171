"""What the saga needs of marketdata and portfolio, as small interfaces, and their gRPC forms.

`Market` (instrument and quote), `Cash` (reserve/release for an order) and `Holdings` (a
position's quantity) are what the saga and risk checks call; `GrpcMarket`, `GrpcCash` and
`GrpcHoldings` implement them with the generated stubs over a mesh channel. A definitive
refusal by the upstream (FAILED_PRECONDITION, NOT_FOUND, PERMISSION_DENIED, INVALID_ARGUMENT)
is an `UpstreamRefused` carrying its reason; anything else (unreachable, deadline, internal)
is an `UpstreamUnavailable`, which the saga retries or leaves to the sweep.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, cast

import grpc
from google.rpc import error_details_pb2
from trademesh.marketdata.v1 import marketdata_pb2, marketdata_pb2_grpc
from trademesh.portfolio.v1 import portfolio_pb2, portfolio_pb2_grpc

from interceptors import status_details
from mesh.money import parse_decimal, to_money

ChannelSource = Callable[[], Awaitable[Any]]
"""Returns the channel (a mesh `BalancedChannel` or a `grpc.aio.Channel`) to call through."""

# Each upstream call's own deadline; a shorter deadline of the current call still wins.
CALL_TIMEOUT_SECONDS = 5.0

_REFUSALS = frozenset(
    {
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.INVALID_ARGUMENT,
    }
)


class UpstreamRefused(Exception):
    """The upstream answered no, for good."""

    def __init__(self, service: str, code: grpc.StatusCode, reason: str, message: str) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.code = code
        self.reason = reason
        self.message = message


class UpstreamUnavailable(Exception):
    """The upstream gave no definitive answer; the call may have taken effect or not."""


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    currency: str
    tradable: bool
    lot_size: Decimal


@dataclass(frozen=True, slots=True)
class Price:
    symbol: str
    bid: Decimal
    ask: Decimal
    currency: str
    observed_at: float


class Market(Protocol):
    async def instrument(self, symbol: str) -> Instrument: ...

    async def quote(self, symbol: str) -> Price: ...


class Cash(Protocol):
    async def reserve(
        self, *, portfolio_id: str, order_id: str, user_id: str, amount: Decimal, currency: str
    ) -> None: ...

    async def release(self, *, portfolio_id: str, order_id: str) -> None: ...


class Holdings(Protocol):
    async def quantity(self, portfolio_id: str, symbol: str) -> Decimal: ...


def _translate(service: str, error: grpc.aio.AioRpcError) -> Exception:
    details = status_details(error)
    if details.code not in _REFUSALS:
        return UpstreamUnavailable(f"{service}: {details.code.name}: {details.message}")
    info = details.find(error_details_pb2.ErrorInfo)
    reason = info.reason if info is not None and info.reason else details.code.name
    return UpstreamRefused(service, details.code, reason, details.message)


def _portfolio(channel: Any) -> portfolio_pb2_grpc.PortfolioServiceAsyncStub:
    return cast(
        "portfolio_pb2_grpc.PortfolioServiceAsyncStub",
        portfolio_pb2_grpc.PortfolioServiceStub(channel),
    )


def price_from_quote(quote: marketdata_pb2.Quote) -> Price:
    """A quote message as a Price; ValueError when its prices are not usable."""
    bid = parse_decimal(quote.bid_price or quote.last_price)
    ask = parse_decimal(quote.ask_price or quote.last_price)
    if bid <= 0 or ask <= 0:
        raise ValueError(f"quote of {quote.symbol} has no positive bid and ask")
    observed = quote.quote_time.ToNanoseconds() / 1e9 if quote.HasField("quote_time") else 0.0
    return Price(quote.symbol, bid, ask, quote.currency or "USD", observed)


class GrpcMarket:
    """marketdata's GetInstrument and GetQuote, with the caller's token forwarded."""

    def __init__(self, channel: ChannelSource) -> None:
        self._channel = channel

    async def _stub(self) -> marketdata_pb2_grpc.MarketDataServiceAsyncStub:
        return cast(
            "marketdata_pb2_grpc.MarketDataServiceAsyncStub",
            marketdata_pb2_grpc.MarketDataServiceStub(await self._channel()),
        )

    async def instrument(self, symbol: str) -> Instrument:
        stub = await self._stub()
        try:
            response = await stub.GetInstrument(
                marketdata_pb2.GetInstrumentRequest(symbol=symbol), timeout=CALL_TIMEOUT_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            raise _translate("marketdata", exc) from None
        found = response.instrument
        lot = parse_decimal(found.lot_size) if found.lot_size else Decimal(0)
        return Instrument(found.symbol, found.currency or "USD", found.tradable, lot)

    async def quote(self, symbol: str) -> Price:
        stub = await self._stub()
        try:
            response = await stub.GetQuote(
                marketdata_pb2.GetQuoteRequest(symbol=symbol), timeout=CALL_TIMEOUT_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            raise _translate("marketdata", exc) from None
        try:
            return price_from_quote(response.quote)
        except ValueError as exc:
            raise UpstreamUnavailable(f"marketdata: {exc}") from None


class GrpcCash:
    """portfolio's ReserveCash and ReleaseCash (callers: trading), idempotent per order."""

    def __init__(self, channel: ChannelSource) -> None:
        self._channel = channel

    async def _stub(self) -> portfolio_pb2_grpc.PortfolioServiceAsyncStub:
        return _portfolio(await self._channel())

    async def reserve(
        self, *, portfolio_id: str, order_id: str, user_id: str, amount: Decimal, currency: str
    ) -> None:
        stub = await self._stub()
        request = portfolio_pb2.ReserveCashRequest(
            portfolio_id=portfolio_id,
            order_id=order_id,
            user_id=user_id,
            amount=to_money(amount, currency),
        )
        try:
            await stub.ReserveCash(request, timeout=CALL_TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as exc:
            raise _translate("portfolio", exc) from None

    async def release(self, *, portfolio_id: str, order_id: str) -> None:
        stub = await self._stub()
        request = portfolio_pb2.ReleaseCashRequest(portfolio_id=portfolio_id, order_id=order_id)
        try:
            await stub.ReleaseCash(request, timeout=CALL_TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as exc:
            error = _translate("portfolio", exc)
            # No reservation to release (it never landed) is what release wants.
            if isinstance(error, UpstreamRefused) and error.code is grpc.StatusCode.NOT_FOUND:
                return
            raise error from None


class GrpcHoldings:
    """portfolio's ListPositions with the user's token forwarded (ownership is checked)."""

    def __init__(self, channel: ChannelSource) -> None:
        self._channel = channel

    async def quantity(self, portfolio_id: str, symbol: str) -> Decimal:
        stub = _portfolio(await self._channel())
        token = ""
        while True:
            request = portfolio_pb2.ListPositionsRequest(
                portfolio_id=portfolio_id, page_size=1000, page_token=token
            )
            try:
                response = await stub.ListPositions(request, timeout=CALL_TIMEOUT_SECONDS)
            except grpc.aio.AioRpcError as exc:
                raise _translate("portfolio", exc) from None
            for position in response.positions:
                if position.symbol == symbol:
                    return parse_decimal(position.quantity or "0")
            token = response.next_page_token
            if not token:
                return Decimal(0)
