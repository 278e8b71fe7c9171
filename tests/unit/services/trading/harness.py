"""The trading service on a real grpc.aio server (port 0, the real interceptor chain, real
tokens) calling stand-in portfolio and marketdata servers over mTLS as the `trading` peer."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import grpc
from prometheus_client import CollectorRegistry
from trademesh.marketdata.v1 import marketdata_pb2_grpc
from trademesh.portfolio.v1 import portfolio_pb2_grpc
from trademesh.trading.v1 import trading_pb2, trading_pb2_grpc

from mesh.client import ClientInterceptorConfig, client_interceptors, instance_channel
from mesh.events import EventsConfig
from mesh.tls import ServiceCredentials
from services.trading import Trading, TradingConfig, Upstreams, build_trading
from services.trading.upstreams import Cash, GrpcCash, GrpcHoldings, GrpcMarket
from tests.unit.services._mesh import Signer, bearer, certificates, listening
from tests.unit.services._mesh import servicer as stand_in

from .standins import Account, MarketStandIn, PortfolioStandIn

STOP_GRACE_SECONDS = 2.0
CALL_TIMEOUT_SECONDS = 10.0


class Clock:
    """Real time plus an offset the test moves by hand."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass(frozen=True)
class User:
    user_id: str
    token: str
    portfolio_id: str

    @property
    def auth(self) -> tuple[tuple[str, str], ...]:
        return bearer(self.token)


@dataclass
class Harness:
    tmp_path: Path
    database_url: str | None
    clock: Clock
    portfolio: PortfolioStandIn
    market: MarketStandIn
    credentials: dict[str, ServiceCredentials]
    signer: Signer
    upstream_addresses: dict[str, str]
    config_changes: dict[str, Any]
    events: EventsConfig | None = None
    trading: Trading | None = None
    stub: trading_pb2_grpc.TradingServiceAsyncStub | None = None
    address: str = ""
    _stack: AsyncExitStack | None = None
    _channels: list[grpc.aio.Channel] = field(default_factory=list)

    def config(self) -> TradingConfig:
        values: dict[str, Any] = {
            "sqlite_path": self.tmp_path / "trading.sqlite3",
            "database_url": self.database_url,
            "order_updates": "local",
            "quote_feed": "local",
            "sweep_interval_seconds": 3600.0,  # tests run the sweep by hand
            "stale_after_seconds": 5.0,
        }
        values.update(self.config_changes)
        return TradingConfig(**values)

    def user(self, *roles: str, cash: str = "100000") -> User:
        user_id = str(uuid.uuid4())
        token = self.signer.access(user_id, roles or ("trader",))
        portfolio_id = str(uuid.uuid4())
        self.portfolio.accounts[portfolio_id] = Account(user_id, Decimal(cash))
        return User(user_id, token, portfolio_id)

    def account(self, user: User) -> Account:
        return self.portfolio.accounts[user.portfolio_id]

    def _channel(self, service: str) -> grpc.aio.Channel:
        channel = instance_channel(
            self.upstream_addresses[service],
            service=service,
            credentials=self.credentials["trading"],
            interceptors=client_interceptors(ClientInterceptorConfig(registry=CollectorRegistry())),
        )
        self._channels.append(channel)
        return channel

    def upstreams(self, wrap_cash: Callable[[Cash], Cash] | None = None) -> Upstreams:
        portfolio = self._channel("portfolio")
        market = self._channel("marketdata")

        async def to_portfolio() -> Any:
            return portfolio

        async def to_market() -> Any:
            return market

        cash: Cash = GrpcCash(to_portfolio)
        return Upstreams(
            market=GrpcMarket(to_market),
            cash=cash if wrap_cash is None else wrap_cash(cash),
            holdings=GrpcHoldings(to_portfolio),
        )

    async def start_trading(self, wrap_cash: Callable[[Cash], Cash] | None = None) -> Trading:
        """Build the service on the store (a new one over the same store after a stop)."""
        stack = AsyncExitStack()
        trading = await build_trading(
            self.config(),
            self.upstreams(wrap_cash),
            events=self.events,
            registry=CollectorRegistry(),
            now=self.clock,
        )
        stack.push_async_callback(trading.stop)
        await trading.start()
        server = await stack.enter_async_context(
            listening(
                [stand_in(trading_pb2_grpc.add_TradingServiceServicer_to_server, trading.servicer)],
                service_name="trading",
                verifier=self.signer.verifier(),
                grace=STOP_GRACE_SECONDS,
            )
        )
        self.address = server.address
        channel = grpc.aio.insecure_channel(self.address)
        stack.push_async_callback(channel.close)
        self.stub = cast(
            "trading_pb2_grpc.TradingServiceAsyncStub", trading_pb2_grpc.TradingServiceStub(channel)
        )
        self.trading = trading
        self._stack = stack
        return trading

    async def stop_trading(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
        self.trading = None
        self.stub = None

    @property
    def api(self) -> trading_pb2_grpc.TradingServiceAsyncStub:
        assert self.stub is not None
        return self.stub

    @property
    def service(self) -> Trading:
        assert self.trading is not None
        return self.trading

    async def place(self, user: User, **fields: Any) -> trading_pb2.Order:
        values: dict[str, Any] = {
            "portfolio_id": user.portfolio_id,
            "client_order_id": uuid.uuid4().hex,
            "symbol": "AAPL",
            "side": 1,
            "order_type": trading_pb2.ORDER_TYPE_MARKET,
            "quantity": "10",
        }
        values.update(fields)
        response = await self.api.PlaceOrder(
            trading_pb2.PlaceOrderRequest(**values),
            metadata=user.auth,
            timeout=CALL_TIMEOUT_SECONDS,
        )
        return response.order

    async def get(self, user: User, order_id: str) -> trading_pb2.Order:
        response = await self.api.GetOrder(
            trading_pb2.GetOrderRequest(order_id=order_id),
            metadata=user.auth,
            timeout=CALL_TIMEOUT_SECONDS,
        )
        return response.order

    async def outbox(self) -> list[tuple[str, str, str]]:
        """(topic, event type, key) of every outbox row, in order."""
        async with self.service.store.db.transaction() as tx:
            rows = await tx.fetchall("SELECT topic, event_type, event_key FROM outbox ORDER BY seq")
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


@asynccontextmanager
async def running(
    tmp_path: Path,
    *,
    database_url: str | None = None,
    events: EventsConfig | None = None,
    **config_changes: Any,
) -> AsyncIterator[Harness]:
    """Stand-ins up, trading up; everything stopped on exit."""
    signer = Signer.generate()
    credentials = certificates(tmp_path, ("trading", "portfolio", "marketdata"))
    portfolio, market = PortfolioStandIn(), MarketStandIn()
    market.list("AAPL")
    market.set_quote("AAPL", "99.90", "100.00")
    async with AsyncExitStack() as stack:
        addresses = {}
        for name, servicer, add in (
            ("portfolio", portfolio, portfolio_pb2_grpc.add_PortfolioServiceServicer_to_server),
            ("marketdata", market, marketdata_pb2_grpc.add_MarketDataServiceServicer_to_server),
        ):
            server = await stack.enter_async_context(
                listening(
                    [stand_in(add, servicer)],
                    service_name=name,
                    verifier=signer.verifier(),
                    plaintext=False,
                    credentials=credentials[name],
                    grace=STOP_GRACE_SECONDS,
                )
            )
            addresses[name] = server.secure_address
        harness = Harness(
            tmp_path=tmp_path,
            database_url=database_url,
            clock=Clock(),
            portfolio=portfolio,
            market=market,
            credentials=credentials,
            signer=signer,
            upstream_addresses=addresses,
            config_changes=config_changes,
            events=events,
        )
        try:
            await harness.start_trading()
            yield harness
        finally:
            await harness.stop_trading()
            for channel in harness._channels:
                await channel.close()
