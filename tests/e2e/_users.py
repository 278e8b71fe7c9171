"""Signed-in traders with a funded portfolio, and orders placed in their name."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from google.type import money_pb2
from trademesh.common.v1 import types_pb2
from trademesh.identity.v1 import identity_pb2
from trademesh.portfolio.v1 import portfolio_pb2
from trademesh.trading.v1 import trading_pb2

from mesh.client import MeshClient
from mesh.rpc import bearer_metadata
from tests.e2e._platform import Metadata, Platform

PASSWORD = "correct horse battery staple"
CURRENCY = "USD"
_NANOS = Decimal(1_000_000_000)

BUY = types_pb2.SIDE_BUY
SELL = types_pb2.SIDE_SELL
MARKET = trading_pb2.ORDER_TYPE_MARKET
LIMIT = trading_pb2.ORDER_TYPE_LIMIT
FINAL = frozenset(
    {
        trading_pb2.ORDER_STATUS_FILLED,
        trading_pb2.ORDER_STATUS_CANCELLED,
        trading_pb2.ORDER_STATUS_REJECTED,
        trading_pb2.ORDER_STATUS_EXPIRED,
    }
)


def money(value: Decimal | str, currency: str = CURRENCY) -> money_pb2.Money:
    exact = Decimal(value)
    units = int(exact)
    return money_pb2.Money(currency_code=currency, units=units, nanos=int((exact - units) * _NANOS))


def amount(value: money_pb2.Money) -> Decimal:
    return Decimal(value.units) + Decimal(value.nanos) / _NANOS


@dataclass(frozen=True)
class Trader:
    user_id: str
    session_id: str
    email: str
    access_token: str
    portfolio_id: str
    initial_cash: Decimal

    @property
    def metadata(self) -> Metadata:
        return (bearer_metadata(self.access_token),)


async def sign_up(platform: Platform, *, trader: bool = True) -> tuple[str, str, str, str]:
    """Register a new user (a trader unless told otherwise) and sign in: user id, session
    id, access token, email."""
    identity = await platform.stub("identity")
    email = f"u{uuid.uuid4().hex[:12]}@e2e.trademesh.test"
    registered = await identity.Register(
        identity_pb2.RegisterRequest(email=email, password=PASSWORD, display_name="E2E")
    )
    if trader:
        await platform.promote(registered.user.user_id)
    login = await identity.Login(identity_pb2.LoginRequest(email=email, password=PASSWORD))
    return registered.user.user_id, login.tokens.session_id, login.tokens.access_token, email


async def new_trader(platform: Platform, cash: Decimal | str = "100000") -> Trader:
    """A new trader with one portfolio holding `cash` dollars."""
    user_id, session_id, token, email = await sign_up(platform)
    portfolio = await platform.stub("portfolio")
    created = await portfolio.CreatePortfolio(
        portfolio_pb2.CreatePortfolioRequest(
            name="Main", base_currency=CURRENCY, initial_cash=money(cash)
        ),
        metadata=(bearer_metadata(token),),
    )
    return Trader(user_id, session_id, email, token, created.portfolio.portfolio_id, Decimal(cash))


def order_request(
    trader: Trader,
    symbol: str,
    quantity: str,
    *,
    side: int = BUY,
    limit: Decimal | None = None,
    client_order_id: str | None = None,
) -> trading_pb2.PlaceOrderRequest:
    return trading_pb2.PlaceOrderRequest(
        portfolio_id=trader.portfolio_id,
        client_order_id=client_order_id or uuid.uuid4().hex,
        symbol=symbol,
        side=side,  # type: ignore[arg-type]
        order_type=MARKET if limit is None else LIMIT,
        quantity=quantity,
        limit_price="" if limit is None else str(limit),
        time_in_force=trading_pb2.TIME_IN_FORCE_GTC,
    )


async def place(
    platform: Platform,
    trader: Trader,
    symbol: str,
    quantity: str,
    *,
    side: int = BUY,
    limit: Decimal | None = None,
    client_order_id: str | None = None,
    mesh: MeshClient | None = None,
) -> Any:
    """PlaceOrder in the trader's name; the order as trading answered it."""
    trading = await platform.stub("trading", mesh)
    response = await trading.PlaceOrder(
        order_request(
            trader, symbol, quantity, side=side, limit=limit, client_order_id=client_order_id
        ),
        metadata=trader.metadata,
    )
    return response.order
