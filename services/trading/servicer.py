"""TradingService over gRPC: each RPC unpacks its request, calls the domain, packs the answer.

The caller comes from `mesh.context` (set by the auth interceptor); failures are
`DomainError`s, which the error interceptor turns into status codes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import grpc
from google.type import money_pb2
from trademesh.common.v1 import types_pb2
from trademesh.trading.v1 import trading_pb2, trading_pb2_grpc

from mesh import context as call_context
from mesh.context import Principal
from mesh.errors import FieldViolation, InvalidArgument, Unauthenticated
from mesh.money import InvalidAmount, from_money, parse_decimal
from services.trading import convert
from services.trading.models import OrderRequest, OrderType, RiskLimits
from services.trading.orders import Orders
from services.trading.store import OrderFilter, TradeFilter
from services.trading.updates import OrderUpdates

ServicerContext = grpc.aio.ServicerContext[Any, Any]


def _invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(f"{field}: {description}", [FieldViolation(field, description)])


def _principal() -> Principal:
    principal = call_context.current().principal
    if principal is None:
        raise Unauthenticated("access token is missing", reason="TOKEN_MISSING")
    return principal


def _positive(field: str, raw: str) -> Decimal:
    try:
        value = parse_decimal(raw)
    except ValueError:
        raise _invalid(field, "must be a decimal number") from None
    if value <= 0:
        raise _invalid(field, "must be greater than 0")
    return value


def _money_limit(field: str, message: money_pb2.Money, has: bool) -> Decimal | None:
    if not has:
        return None
    try:
        value = from_money(message)
    except InvalidAmount as exc:
        raise _invalid(field, str(exc)) from None
    if value < 0:
        raise _invalid(field, "must not be negative")
    return value


def order_request(user_id: str, request: trading_pb2.PlaceOrderRequest) -> OrderRequest:
    side = convert.SIDES_BY_NUMBER.get(request.side)
    if side is None:
        raise _invalid("side", "must be BUY or SELL")
    kind = convert.ORDER_TYPES_BY_NUMBER.get(request.order_type)
    if kind is None:
        raise _invalid("order_type", "must be MARKET or LIMIT")
    tif = convert.TIME_IN_FORCE_BY_NUMBER.get(request.time_in_force)
    if tif is None:
        raise _invalid("time_in_force", "must be DAY, GTC or IOC")
    limit_price = None
    if kind is OrderType.LIMIT:
        if not request.limit_price:
            raise _invalid("limit_price", "is required for limit orders")
        limit_price = _positive("limit_price", request.limit_price)
    elif request.limit_price:
        raise _invalid("limit_price", "must be empty for market orders")
    if not request.client_order_id:
        raise _invalid("client_order_id", "is required")
    return OrderRequest(
        user_id=user_id,
        client_order_id=request.client_order_id,
        portfolio_id=request.portfolio_id,
        symbol=request.symbol,
        side=side,
        order_type=kind,
        time_in_force=tif,
        quantity=_positive("quantity", request.quantity),
        limit_price=limit_price,
    )


def _range(span: types_pb2.TimeRange, has: bool) -> tuple[float | None, float | None]:
    if not has:
        return None, None
    start = convert.seconds(span.start_time) if span.HasField("start_time") else None
    end = convert.seconds(span.end_time) if span.HasField("end_time") else None
    return start, end


class TradingServicer(trading_pb2_grpc.TradingServiceServicer):
    def __init__(self, orders: Orders, updates: OrderUpdates) -> None:
        self._orders = orders
        self._updates = updates

    async def PlaceOrder(
        self, request: trading_pb2.PlaceOrderRequest, context: ServicerContext
    ) -> trading_pb2.PlaceOrderResponse:
        principal = _principal()
        order = await self._orders.place(order_request(principal.user_id, request))
        return trading_pb2.PlaceOrderResponse(order=convert.order_message(order))

    async def CancelOrder(
        self, request: trading_pb2.CancelOrderRequest, context: ServicerContext
    ) -> trading_pb2.CancelOrderResponse:
        order = await self._orders.cancel(_principal(), request.order_id)
        return trading_pb2.CancelOrderResponse(order=convert.order_message(order))

    async def GetOrder(
        self, request: trading_pb2.GetOrderRequest, context: ServicerContext
    ) -> trading_pb2.GetOrderResponse:
        order = await self._orders.get(_principal(), request.order_id)
        return trading_pb2.GetOrderResponse(order=convert.order_message(order))

    async def ListOrders(
        self, request: trading_pb2.ListOrdersRequest, context: ServicerContext
    ) -> trading_pb2.ListOrdersResponse:
        statuses = set()
        for number in request.statuses:
            status = convert.STATUSES_BY_NUMBER.get(number)
            if status is None:
                raise _invalid("statuses", "must name defined order statuses")
            statuses.add(status)
        side = None
        if request.side != types_pb2.SIDE_UNSPECIFIED:
            side = convert.SIDES_BY_NUMBER.get(request.side)
            if side is None:
                raise _invalid("side", "must be BUY or SELL")
        start, end = _range(request.create_time, request.HasField("create_time"))
        where = OrderFilter(
            user_id=request.user_id or None,
            portfolio_id=request.portfolio_id or None,
            symbol=request.symbol or None,
            statuses=frozenset(statuses),
            side=side,
            created_from=start,
            created_to=end,
        )
        page = await self._orders.list_orders(
            _principal(), where, page_size=request.page_size, page_token=request.page_token
        )
        return trading_pb2.ListOrdersResponse(
            orders=[convert.order_message(order) for order in page.items],
            next_page_token=page.next_page_token,
        )

    async def ListTrades(
        self, request: trading_pb2.ListTradesRequest, context: ServicerContext
    ) -> trading_pb2.ListTradesResponse:
        start, end = _range(request.execute_time, request.HasField("execute_time"))
        where = TradeFilter(
            user_id=request.user_id or None,
            portfolio_id=request.portfolio_id or None,
            order_id=request.order_id or None,
            symbol=request.symbol or None,
            executed_from=start,
            executed_to=end,
        )
        page = await self._orders.list_trades(
            _principal(), where, page_size=request.page_size, page_token=request.page_token
        )
        return trading_pb2.ListTradesResponse(
            trades=[convert.trade_message(trade) for trade in page.items],
            next_page_token=page.next_page_token,
        )

    async def StreamOrderUpdates(
        self, request: trading_pb2.StreamOrderUpdatesRequest, context: ServicerContext
    ) -> AsyncIterator[trading_pb2.StreamOrderUpdatesResponse]:
        principal = _principal()
        async with self._updates.subscribe(
            principal.user_id, request.portfolio_id or None
        ) as subscription:
            async for order in subscription:
                yield trading_pb2.StreamOrderUpdatesResponse(order=order)

    async def GetRiskLimits(
        self, request: trading_pb2.GetRiskLimitsRequest, context: ServicerContext
    ) -> trading_pb2.GetRiskLimitsResponse:
        limits = await self._orders.limits(request.user_id)
        return trading_pb2.GetRiskLimitsResponse(limits=convert.limits_message(limits))

    async def SetRiskLimits(
        self, request: trading_pb2.SetRiskLimitsRequest, context: ServicerContext
    ) -> trading_pb2.SetRiskLimitsResponse:
        given = request.limits
        currencies = {
            money.currency_code
            for name, money in (
                ("max_order_notional", given.max_order_notional),
                ("max_daily_notional", given.max_daily_notional),
            )
            if given.HasField(name)  # type: ignore[arg-type]
        }
        if len(currencies) > 1:
            raise _invalid("limits", "notional limits must be in one currency")
        default = self._orders.default_limits(request.user_id)
        limits = RiskLimits(
            user_id=request.user_id,
            max_order_quantity=(
                _positive("limits.max_order_quantity", given.max_order_quantity)
                if given.max_order_quantity
                else None
            ),
            max_order_notional=_money_limit(
                "limits.max_order_notional",
                given.max_order_notional,
                given.HasField("max_order_notional"),
            ),
            max_daily_notional=_money_limit(
                "limits.max_daily_notional",
                given.max_daily_notional,
                given.HasField("max_daily_notional"),
            ),
            currency=currencies.pop() if currencies else default.currency,
            max_open_orders=given.max_open_orders,
            trading_disabled=given.trading_disabled,
        )
        saved = await self._orders.set_limits(limits)
        return trading_pb2.SetRiskLimitsResponse(limits=convert.limits_message(saved))
