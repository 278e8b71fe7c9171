"""The trading domain behind the servicer: placing (with risk checks), cancelling and reading
orders, trades and risk limits, each for the calling user only (admins: for anyone)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from mesh.context import Principal
from mesh.errors import FailedPrecondition, NotFound, PermissionDenied, Unavailable
from services.trading.config import TradingConfig
from services.trading.models import Order, OrderRequest, Page, RiskLimits, Side, Trade
from services.trading.pricing import day_start
from services.trading.risk import Fees, assess, check_instrument, check_limits, refuse
from services.trading.saga import OrderSaga
from services.trading.store import OrderFilter, TradeFilter, TradingStore
from services.trading.upstreams import (
    Holdings,
    Market,
    UpstreamRefused,
    UpstreamUnavailable,
)

ADMIN = "admin"


def is_admin(principal: Principal) -> bool:
    return ADMIN in principal.roles


def _unavailable(exc: UpstreamUnavailable) -> Unavailable:
    return Unavailable(f"order could not be checked: {exc}", reason="UPSTREAM_UNAVAILABLE")


class Orders:
    def __init__(
        self,
        store: TradingStore,
        saga: OrderSaga,
        market: Market,
        holdings: Holdings,
        config: TradingConfig,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._saga = saga
        self._market = market
        self._holdings = holdings
        self._config = config
        self._fees = Fees(config.fee_decimal, config.min_fee_decimal)
        self._now = now

    # -- risk limits --

    def default_limits(self, user_id: str) -> RiskLimits:
        config = self._config
        return RiskLimits(
            user_id=user_id,
            max_order_quantity=config.limit("default_max_order_quantity"),
            max_order_notional=config.limit("default_max_order_notional"),
            max_daily_notional=config.limit("default_max_daily_notional"),
            currency=config.limits_currency,
            max_open_orders=config.default_max_open_orders,
        )

    async def limits(self, user_id: str) -> RiskLimits:
        return await self._store.get_limits(user_id) or self.default_limits(user_id)

    async def set_limits(self, limits: RiskLimits) -> RiskLimits:
        return await self._store.put_limits(replace(limits, updated_at=self._now()))

    # -- placing --

    async def place(self, request: OrderRequest) -> Order:
        existing = await self._saga.existing(request)
        if existing is not None:
            return existing
        currency = self._config.limits_currency
        try:
            try:
                instrument = await self._market.instrument(request.symbol)
            except UpstreamRefused as refused:
                if refused.code.name != "NOT_FOUND":
                    raise
                raise refuse(
                    "INSTRUMENT_UNKNOWN",
                    f"unknown instrument {request.symbol}",
                    symbol=request.symbol,
                ) from None
            currency = instrument.currency
            check_instrument(request, instrument)
            price = await self._market.quote(request.symbol)
            assessment = assess(
                request,
                price,
                currency=currency,
                fees=self._fees,
                market_buy_buffer=self._config.market_buy_buffer_decimal,
            )
            max_position = self._config.limit("max_position_quantity")
            held = None
            if request.side is Side.SELL or max_position is not None:
                held = await self._holdings.quantity(request.portfolio_id, request.symbol)
            check_limits(
                request,
                assessment,
                await self.limits(request.user_id),
                await self._store.activity(request.user_id, day_start=day_start(self._now())),
                max_position=max_position,
                held=held,
            )
        except UpstreamUnavailable as exc:
            raise _unavailable(exc) from None
        except UpstreamRefused as refused:
            refusal = _upstream_refusal(refused, request.symbol)
            return await self._saga.reject_new(request, refusal, currency=currency)
        except FailedPrecondition as refusal:
            return await self._saga.reject_new(request, refusal, currency=currency)
        return await self._saga.accept(
            request, currency=currency, reserve=assessment.reserve, price=price
        )

    # -- reading and cancelling --

    async def get(self, principal: Principal, order_id: str) -> Order:
        order = await self._store.get_order(order_id)
        if order is None or (order.user_id != principal.user_id and not is_admin(principal)):
            # Another user's order is reported exactly like a missing one.
            raise NotFound(f"order {order_id} not found", reason="ORDER_NOT_FOUND")
        return order

    async def cancel(self, principal: Principal, order_id: str) -> Order:
        return await self._saga.cancel(await self.get(principal, order_id))

    def _user_scope(self, principal: Principal, user_id: str) -> str | None:
        if is_admin(principal):
            return user_id or None
        if user_id and user_id != principal.user_id:
            raise PermissionDenied(
                "only admins may list another user's orders or trades",
                reason="OTHER_USER",
            )
        return principal.user_id

    async def list_orders(
        self, principal: Principal, where: OrderFilter, *, page_size: int, page_token: str
    ) -> Page[Order]:
        where = replace(where, user_id=self._user_scope(principal, where.user_id or ""))
        return await self._store.list_orders(where, page_size=page_size, page_token=page_token)

    async def list_trades(
        self, principal: Principal, where: TradeFilter, *, page_size: int, page_token: str
    ) -> Page[Trade]:
        where = replace(where, user_id=self._user_scope(principal, where.user_id or ""))
        return await self._store.list_trades(where, page_size=page_size, page_token=page_token)


def _upstream_refusal(refused: UpstreamRefused, symbol: str) -> FailedPrecondition:
    """An upstream's definitive no, as the user should read it."""
    missing = refused.code.name in ("NOT_FOUND", "PERMISSION_DENIED")
    if refused.service == "portfolio" and missing:
        # ListPositions: the portfolio is not there or not the caller's.
        return refuse("PORTFOLIO_NOT_FOUND", "portfolio not found")
    if refused.service == "marketdata" and missing:
        return refuse("QUOTE_UNAVAILABLE", f"no price is available for {symbol}", symbol=symbol)
    return refuse(refused.reason, f"{refused.service} refused the order: {refused.message}")
