"""NotificationService over gRPC: each RPC unpacks its request, calls the feed, packs the answer.

The caller comes from `mesh.context` (set by the auth interceptor); failures are
`DomainError`s, which the error interceptor turns into status codes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from trademesh.notification.v1 import notification_pb2 as pb
from trademesh.notification.v1 import notification_pb2_grpc as pb_grpc

from mesh import context as call_context
from services.notification.convert import notification_message
from services.notification.feed import Feed

ServicerContext = grpc.aio.ServicerContext[Any, Any]


class NotificationServicer(pb_grpc.NotificationServiceServicer):
    def __init__(self, feed: Feed) -> None:
        self._feed = feed

    async def ListNotifications(
        self, request: pb.ListNotificationsRequest, context: ServicerContext
    ) -> pb.ListNotificationsResponse:
        page = await self._feed.list(
            call_context.current().principal,
            page_size=request.page_size,
            page_token=request.page_token,
            unread_only=request.unread_only,
        )
        return pb.ListNotificationsResponse(
            notifications=[notification_message(n) for n in page.notifications],
            next_page_token=page.next_page_token,
            unread_count=page.unread_count,
        )

    async def MarkRead(
        self, request: pb.MarkReadRequest, context: ServicerContext
    ) -> pb.MarkReadResponse:
        marked = await self._feed.mark_read(
            call_context.current().principal, list(request.notification_ids), mark_all=request.all
        )
        return pb.MarkReadResponse(marked_count=marked)

    async def StreamNotifications(
        self, request: pb.StreamNotificationsRequest, context: ServicerContext
    ) -> AsyncIterator[pb.StreamNotificationsResponse]:
        with self._feed.watch(call_context.current().principal) as watcher:
            while True:
                notification = await watcher.next()
                yield pb.StreamNotificationsResponse(
                    notification=notification_message(notification)
                )
