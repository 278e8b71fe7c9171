"""Servicers of the real contracts that record the call context each call ran with."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc
from trademesh.marketdata.v1 import marketdata_pb2, marketdata_pb2_grpc
from trademesh.notification.v1 import notification_pb2, notification_pb2_grpc
from trademesh.portfolio.v1 import portfolio_pb2, portfolio_pb2_grpc

from mesh import context as call_context
from mesh.context import CallContext

Context = grpc.aio.ServicerContext[Any, Any]


@dataclass
class Seen:
    """What handlers saw: the call context and the deadline grpc reported."""

    contexts: list[CallContext] = field(default_factory=list)
    time_remaining: list[float | None] = field(default_factory=list)

    def record(self, context: Context) -> None:
        self.contexts.append(call_context.current())
        self.time_remaining.append(context.time_remaining())

    @property
    def last(self) -> CallContext:
        return self.contexts[-1]


class Identity(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    async def Register(
        self, request: identity_pb2.RegisterRequest, context: Context
    ) -> identity_pb2.RegisterResponse:
        self.seen.record(context)
        return identity_pb2.RegisterResponse(user=identity_pb2.User(email=request.email))

    async def Validate(
        self, request: identity_pb2.ValidateRequest, context: Context
    ) -> identity_pb2.ValidateResponse:
        self.seen.record(context)
        principal = call_context.current().principal
        if principal is None:
            return identity_pb2.ValidateResponse(valid=False, invalid_reason="missing")
        return identity_pb2.ValidateResponse(valid=True, user_id=principal.user_id)

    async def GetMe(
        self, request: identity_pb2.GetMeRequest, context: Context
    ) -> identity_pb2.GetMeResponse:
        self.seen.record(context)
        principal = call_context.current().principal
        assert principal is not None
        return identity_pb2.GetMeResponse(user=identity_pb2.User(user_id=principal.user_id))

    async def ListUsers(
        self, request: identity_pb2.ListUsersRequest, context: Context
    ) -> identity_pb2.ListUsersResponse:
        self.seen.record(context)
        return identity_pb2.ListUsersResponse()


class Notifications(notification_pb2_grpc.NotificationServiceServicer):
    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    async def ListNotifications(
        self, request: notification_pb2.ListNotificationsRequest, context: Context
    ) -> notification_pb2.ListNotificationsResponse:
        self.seen.record(context)
        return notification_pb2.ListNotificationsResponse(unread_count=1)

    async def MarkRead(
        self, request: notification_pb2.MarkReadRequest, context: Context
    ) -> notification_pb2.MarkReadResponse:
        self.seen.record(context)
        return notification_pb2.MarkReadResponse(marked_count=len(request.notification_ids))

    async def StreamNotifications(
        self, request: notification_pb2.StreamNotificationsRequest, context: Context
    ) -> AsyncIterator[notification_pb2.StreamNotificationsResponse]:
        self.seen.record(context)
        principal = call_context.current().principal
        assert principal is not None
        for title in ("first", "second"):
            await asyncio.sleep(0)
            yield notification_pb2.StreamNotificationsResponse(
                notification=notification_pb2.Notification(user_id=principal.user_id, title=title)
            )


class MarketData(marketdata_pb2_grpc.MarketDataServiceServicer):
    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    async def StreamQuotes(
        self, request: marketdata_pb2.StreamQuotesRequest, context: Context
    ) -> AsyncIterator[marketdata_pb2.StreamQuotesResponse]:
        self.seen.record(context)
        for symbol in request.symbols:
            yield marketdata_pb2.StreamQuotesResponse(quote=marketdata_pb2.Quote(symbol=symbol))


class Portfolio(portfolio_pb2_grpc.PortfolioServiceServicer):
    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    async def ReserveCash(
        self, request: portfolio_pb2.ReserveCashRequest, context: Context
    ) -> portfolio_pb2.ReserveCashResponse:
        self.seen.record(context)
        return portfolio_pb2.ReserveCashResponse(reserved_amount=request.amount)


def adding(servicer: Any) -> Callable[[grpc.aio.Server], None]:
    """The generated `add_*Servicer_to_server` for `servicer`, ready for `serving()`."""
    adders: dict[type, Callable[[Any, grpc.aio.Server], None]] = {
        Identity: identity_pb2_grpc.add_IdentityServiceServicer_to_server,
        Notifications: notification_pb2_grpc.add_NotificationServiceServicer_to_server,
        MarketData: marketdata_pb2_grpc.add_MarketDataServiceServicer_to_server,
        Portfolio: portfolio_pb2_grpc.add_PortfolioServiceServicer_to_server,
    }
    add = adders[type(servicer)]
    return lambda server: add(servicer, server)
