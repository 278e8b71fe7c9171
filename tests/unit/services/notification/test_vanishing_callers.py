"""Callers that vanish mid-call — channels closed with hundreds of calls in flight, deadlines
too short to finish — leave the store usable from this instance and from another one."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
from trademesh.notification.v1 import notification_pb2 as pb
from trademesh.notification.v1 import notification_pb2_grpc as pb_grpc

from mesh.store import open_database
from services.notification import NotificationConfig, Notifications, NotificationStore
from services.notification.consumers import FeedWriter
from tests.conftest import eventually

from . import events
from .conftest import Identity, Served, User, deliver, delivery

CALLS = 300


def _calls(stub: object, user: User, ids: list[str], timeout: float | None) -> list[object]:
    calls: list[object] = []
    for i in range(CALLS):
        kind = i % 3
        if kind == 0:
            calls.append(
                stub.ListNotifications(  # type: ignore[attr-defined]
                    pb.ListNotificationsRequest(page_size=20),
                    metadata=user.metadata,
                    timeout=timeout,
                )
            )
        elif kind == 1:
            calls.append(
                stub.MarkRead(  # type: ignore[attr-defined]
                    pb.MarkReadRequest(notification_ids=[ids[i % len(ids)]]),
                    metadata=user.metadata,
                    timeout=timeout,
                )
            )
        else:
            calls.append(
                stub.MarkRead(  # type: ignore[attr-defined]
                    pb.MarkReadRequest(all=True), metadata=user.metadata, timeout=timeout
                )
            )
    return calls


async def _settle(calls: list[object]) -> None:
    for call in calls:
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
            if isinstance(call, grpc.aio.UnaryStreamCall):
                await call.read()
            else:
                await call  # type: ignore[misc]


async def _still_usable(
    app: Notifications, served: Served, user: User, config: NotificationConfig
) -> None:
    # Writes and reads through this instance...
    await deliver(app, events.trade(user.user_id, symbol="AFTER"))
    listed = await served.stub.ListNotifications(
        pb.ListNotificationsRequest(page_size=1), metadata=user.metadata, timeout=10
    )
    assert listed.notifications[0].title == "Bought 10 AFTER at 189.20"
    marked = await served.stub.MarkRead(
        pb.MarkReadRequest(all=True), metadata=user.metadata, timeout=10
    )
    assert marked.marked_count >= 1
    # ...and through another connection to the same database, as another instance would.
    other = NotificationStore(open_database(None, config.sqlite_path))
    try:
        async with asyncio.timeout(10):
            await FeedWriter(other)(delivery(events.trade(user.user_id, symbol="OTHER")))
            listing = await other.list(user.user_id, limit=1, unread_only=True, after=None)
        assert [n.title for n in listing.notifications] == ["Bought 10 OTHER at 189.20"]
    finally:
        await other.close()


async def test_channels_closed_with_hundreds_of_calls_in_flight(
    app: Notifications, served: Served, identity: Identity, config: NotificationConfig
) -> None:
    ada = identity.user()
    await deliver(app, *(events.trade(ada.user_id) for _ in range(20)))
    listed = await app.store.list(ada.user_id, limit=20, unread_only=False, after=None)
    ids = [n.notification_id for n in listed.notifications]
    for _round in range(3):
        channel = grpc.aio.insecure_channel(served.address)
        stub = pb_grpc.NotificationServiceStub(channel)
        streams = [
            stub.StreamNotifications(pb.StreamNotificationsRequest(), metadata=ada.metadata)
            for _ in range(5)
        ]
        calls = _calls(stub, ada, ids, timeout=None)
        await asyncio.sleep(0.01)  # let some of them reach the store
        await channel.close()
        await _settle([*calls, *streams])

    async def unsubscribed() -> bool:
        return app.hub.watcher_count() == 0

    await eventually(unsubscribed, timeout=10, what="streams of closed channels unsubscribed")
    await _still_usable(app, served, ada, config)


async def test_tiny_deadlines(
    app: Notifications, served: Served, identity: Identity, config: NotificationConfig
) -> None:
    ada = identity.user()
    await deliver(app, *(events.trade(ada.user_id) for _ in range(20)))
    listed = await app.store.list(ada.user_id, limit=20, unread_only=False, after=None)
    ids = [n.notification_id for n in listed.notifications]
    for timeout in (0.0005, 0.002, 0.01):
        await _settle(_calls(served.stub, ada, ids, timeout=timeout))
    await _still_usable(app, served, ada, config)
