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

from interceptors import ServerInterceptorConfig, server_interceptors
from mesh.client import ClientInterceptorConfig, client_interceptors, instance_channel
from mesh.events import EventsConfig
from mesh.tls import ServiceCredentials, TlsConfig, load_service_credentials
from mesh.tokens import AsyncTokenVerifier, JwksCache, KeyRing, TokenConfig, TokenIssuer
from services.trading import Trading, TradingConfig, Upstreams, build_trading
from services.trading.upstreams import Cash, GrpcCash, GrpcHoldings, GrpcMarket

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
        return (("authorization", f"Bearer {self.token}"),)


@dataclass
class Harness:
    tmp_path: Path
    database_url: str | None
    clock: Clock
    portfolio: PortfolioStandIn
    market: MarketStandIn
    credentials: dict[str, ServiceCredentials]
    verifier: AsyncTokenVerifier
    issuer: TokenIssuer
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
        token = self.issuer.issue_access(
            subject=user_id, session_id=str(uuid.uuid4()), roles=roles or ("trader",)
        ).token
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
        server = grpc.aio.server(
            interceptors=server_interceptors(
                ServerInterceptorConfig(
                    service_name="trading", verifier=self.verifier, registry=CollectorRegistry()
                )
            )
        )
        trading_pb2_grpc.add_TradingServiceServicer_to_server(trading.servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        stack.push_async_callback(server.stop, STOP_GRACE_SECONDS)
        self.address = f"127.0.0.1:{port}"
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


async def _serve(
    name: str, servicer: Any, add: Any, config: ServerInterceptorConfig, creds: ServiceCredentials
) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server(interceptors=server_interceptors(config))
    add(servicer, server)
    port = server.add_secure_port("127.0.0.1:0", creds.server_credentials())
    await server.start()
    return server, f"127.0.0.1:{port}"


@asynccontextmanager
async def running(
    tmp_path: Path,
    *,
    database_url: str | None = None,
    events: EventsConfig | None = None,
    **config_changes: Any,
) -> AsyncIterator[Harness]:
    """Stand-ins up, trading up; everything stopped on exit."""
    token_config = TokenConfig(issuer="https://identity.trademesh.test", audience="trademesh")
    ring = KeyRing.generate(retention_seconds=token_config.key_retention_seconds)

    async def fetch() -> dict[str, Any]:
        return ring.jwks()

    verifier = AsyncTokenVerifier(JwksCache(fetch), token_config)
    tls = TlsConfig.for_state_dir(tmp_path)
    credentials = {
        name: load_service_credentials(tls, name) for name in ("trading", "portfolio", "marketdata")
    }
    portfolio, market = PortfolioStandIn(), MarketStandIn()
    market.list("AAPL")
    market.set_quote("AAPL", "99.90", "100.00")
    async with AsyncExitStack() as stack:
        addresses = {}
        for name, servicer, add in (
            ("portfolio", portfolio, portfolio_pb2_grpc.add_PortfolioServiceServicer_to_server),
            ("marketdata", market, marketdata_pb2_grpc.add_MarketDataServiceServicer_to_server),
        ):
            config = ServerInterceptorConfig(
                service_name=name, verifier=verifier, registry=CollectorRegistry()
            )
            server, addresses[name] = await _serve(name, servicer, add, config, credentials[name])
            stack.push_async_callback(server.stop, STOP_GRACE_SECONDS)
        harness = Harness(
            tmp_path=tmp_path,
            database_url=database_url,
            clock=Clock(),
            portfolio=portfolio,
            market=market,
            credentials=credentials,
            verifier=verifier,
            issuer=TokenIssuer(token_config, ring),
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
