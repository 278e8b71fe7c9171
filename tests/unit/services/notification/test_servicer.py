"""NotificationService on a real grpc.aio server with the real interceptor chain and real
signed tokens: listing, paging, marking read and streaming, each user seeing only their own."""

from __future__ import annotations

import asyncio
import inspect
import uuid

import grpc
import pytest
from trademesh.notification.v1 import notification_pb2 as pb
from trademesh.notification.v1 import notification_pb2_grpc as pb_grpc
from trademesh.trading.v1 import trading_pb2

from interceptors import status_details
from mesh.events import Consumer, EventsConfig
from mesh.tokens.revocations import RevokedSessions
from services.notification import (
    NotificationConfig,
    Notifications,
    NotificationServicer,
    build_notifications,
    render,
)
from services.notification.maintenance import Maintenance
from tests.conftest import eventually

from . import events
from .conftest import Identity, Served, User, deliver, delivery


async def error_of(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    return raised.value


def test_every_rpc_of_the_contract_is_implemented() -> None:
    service = pb.DESCRIPTOR.services_by_name["NotificationService"]
    assert {m.name for m in service.methods} == {
        "ListNotifications",
        "MarkRead",
        "StreamNotifications",
    }
    for method in service.methods:
        ours = getattr(NotificationServicer, method.name)
        assert ours is not getattr(pb_grpc.NotificationServiceServicer, method.name)
        if method.server_streaming:
            assert inspect.isasyncgenfunction(ours), method.name
        else:
            assert inspect.iscoroutinefunction(ours), method.name


def test_the_service_spec_names_the_service(app: Notifications) -> None:
    spec = app.service_spec()
    assert spec.name == "notification"
    assert [s.full_name for s in spec.servicers] == [
        "trademesh.notification.v1.NotificationService"
    ]
    assert list(spec.on_stop) == [app.close]
    assert list(spec.workers) == []  # fed by hand: no events configured


async def test_with_events_the_spec_runs_the_consumers_after_the_given_workers(
    config: NotificationConfig,
) -> None:
    # Nothing connects to Kafka until a worker starts; none is started here.
    app = await build_notifications(config, EventsConfig(bootstrap_servers="127.0.0.1:9"))
    try:
        first = Maintenance(
            app.store,
            interval_seconds=1,
            notification_retention_seconds=1,
            processed_retention_seconds=1,
        )
        spec = app.service_spec(workers=[first])
        assert spec.workers[0] is first
        kinds = [type(worker).__name__ for worker in spec.workers[1:]]
        assert kinds == ["TopicsCheck", "Consumer", "FanOut", "Consumer", "Maintenance"]
        groups = [w.group_id for w in spec.workers if isinstance(w, Consumer)]
        assert groups == ["notification", None]  # the feed writer, then the fan-out reader
    finally:
        await app.close()


async def test_a_user_lists_their_own_notifications_newest_first(
    app: Notifications, served: Served, identity: Identity
) -> None:
    ada, bob = identity.user("trader"), identity.user("trader")
    base = 1_790_000_000.0
    await deliver(
        app,
        events.trade(ada.user_id, symbol="AAPL", at=base),
        events.trade(bob.user_id, symbol="TSLA", at=base + 1),
        events.trade(ada.user_id, symbol="MSFT", at=base + 2),
    )
    listed = await served.stub.ListNotifications(
        pb.ListNotificationsRequest(), metadata=ada.metadata
    )
    assert [n.title for n in listed.notifications] == [
        "Bought 10 MSFT at 189.20",
        "Bought 10 AAPL at 189.20",
    ]
    assert {n.user_id for n in listed.notifications} == {ada.user_id}
    assert listed.unread_count == 2
    assert listed.next_page_token == ""
    first = listed.notifications[0]
    assert first.kind == pb.NOTIFICATION_KIND_TRADE_EXECUTED
    assert first.create_time.ToMicroseconds() == int((base + 2) * 1_000_000)
    assert not first.HasField("read_time")
    assert set(first.attributes) == {"trade_id", "order_id", "portfolio_id"}

    bobs = await served.stub.ListNotifications(pb.ListNotificationsRequest(), metadata=bob.metadata)
    assert [n.title for n in bobs.notifications] == ["Bought 10 TSLA at 189.20"]


async def test_pages_walk_the_whole_feed_once(
    app: Notifications, served: Served, identity: Identity
) -> None:
    ada = identity.user()
    base = 1_790_000_000.0
    # Pairs share a timestamp, so the cursor's tie-break on the id is exercised.
    await deliver(app, *(events.trade(ada.user_id, at=base + i // 2) for i in range(7)))
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await served.stub.ListNotifications(
            pb.ListNotificationsRequest(page_size=3, page_token=token), metadata=ada.metadata
        )
        pages += 1
        seen += [n.notification_id for n in page.notifications]
        token = page.next_page_token
        if not token:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    times = [
        n.create_time.ToMicroseconds()
        for n in (
            await served.stub.ListNotifications(
                pb.ListNotificationsRequest(page_size=10), metadata=ada.metadata
            )
        ).notifications
    ]
    assert times == sorted(times, reverse=True)


async def test_mark_read_then_list_unread_only(
    app: Notifications, served: Served, identity: Identity
) -> None:
    ada = identity.user()
    await deliver(app, *(events.trade(ada.user_id) for _ in range(3)))
    listed = await served.stub.ListNotifications(
        pb.ListNotificationsRequest(), metadata=ada.metadata
    )
    target = listed.notifications[1].notification_id
    marked = await served.stub.MarkRead(
        pb.MarkReadRequest(notification_ids=[target]), metadata=ada.metadata
    )
    assert marked.marked_count == 1
    again = await served.stub.MarkRead(
        pb.MarkReadRequest(notification_ids=[target.upper()]), metadata=ada.metadata
    )
    assert again.marked_count == 0  # already read: nothing changes

    unread = await served.stub.ListNotifications(
        pb.ListNotificationsRequest(unread_only=True), metadata=ada.metadata
    )
    assert target not in {n.notification_id for n in unread.notifications}
    assert len(unread.notifications) == unread.unread_count == 2
    full = await served.stub.ListNotifications(pb.ListNotificationsRequest(), metadata=ada.metadata)
    (read,) = [n for n in full.notifications if n.notification_id == target]
    assert read.HasField("read_time")

    everything = await served.stub.MarkRead(pb.MarkReadRequest(all=True), metadata=ada.metadata)
    assert everything.marked_count == 2
    after = await served.stub.ListNotifications(
        pb.ListNotificationsRequest(unread_only=True), metadata=ada.metadata
    )
    assert list(after.notifications) == [] and after.unread_count == 0


async def test_marking_another_users_notification_is_not_found_and_marks_nothing(
    app: Notifications, served: Served, identity: Identity
) -> None:
    ada, eve = identity.user(), identity.user()
    await deliver(app, events.trade(ada.user_id), events.trade(eve.user_id))
    adas = await served.stub.ListNotifications(pb.ListNotificationsRequest(), metadata=ada.metadata)
    eves = await served.stub.ListNotifications(pb.ListNotificationsRequest(), metadata=eve.metadata)
    own, foreign = adas.notifications[0].notification_id, eves.notifications[0].notification_id

    error = await error_of(
        served.stub.MarkRead(
            pb.MarkReadRequest(notification_ids=[own, foreign]), metadata=ada.metadata
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert foreign in (error.details() or "")
    assert own not in (error.details() or "")
    # All or nothing: ada's own one stays unread, and eve's is untouched.
    for user in (ada, eve):
        listed = await served.stub.ListNotifications(
            pb.ListNotificationsRequest(), metadata=user.metadata
        )
        assert listed.unread_count == 1
    many = [str(uuid.uuid4()) for _ in range(500)]
    missing = await error_of(
        served.stub.MarkRead(pb.MarkReadRequest(notification_ids=many), metadata=ada.metadata)
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    assert "and 495 more" in (missing.details() or "")


@pytest.mark.parametrize(
    "request_",
    [
        pb.ListNotificationsRequest(page_size=1001),
        pb.ListNotificationsRequest(page_size=-1),
        pb.ListNotificationsRequest(page_token="garbage!"),
        pb.MarkReadRequest(),
        pb.MarkReadRequest(notification_ids=[str(uuid.uuid4())], all=True),
        pb.MarkReadRequest(notification_ids=["not-a-uuid"]),
    ],
    ids=["page-too-big", "page-negative", "bad-token", "mark-nothing", "mark-both", "bad-id"],
)
async def test_bad_requests_are_invalid_arguments(
    served: Served, identity: Identity, request_: object
) -> None:
    user = identity.user()
    method = (
        served.stub.ListNotifications
        if isinstance(request_, pb.ListNotificationsRequest)
        else served.stub.MarkRead
    )
    error = await error_of(method(request_, metadata=user.metadata))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()


async def test_a_page_token_of_another_filter_is_refused(
    app: Notifications, served: Served, identity: Identity
) -> None:
    ada = identity.user()
    await deliver(app, *(events.trade(ada.user_id) for _ in range(3)))
    page = await served.stub.ListNotifications(
        pb.ListNotificationsRequest(page_size=1), metadata=ada.metadata
    )
    assert page.next_page_token
    error = await error_of(
        served.stub.ListNotifications(
            pb.ListNotificationsRequest(page_token=page.next_page_token, unread_only=True),
            metadata=ada.metadata,
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unread_only" in (error.details() or "")


async def test_without_a_valid_token_nothing_is_answered(served: Served) -> None:
    for call in (
        served.stub.ListNotifications(pb.ListNotificationsRequest()),
        served.stub.ListNotifications(
            pb.ListNotificationsRequest(), metadata=(("authorization", "Bearer forged"),)
        ),
    ):
        assert (await error_of(call)).code() == grpc.StatusCode.UNAUTHENTICATED
    stream = served.stub.StreamNotifications(pb.StreamNotificationsRequest())
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stream.read()
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_revoked_session_is_refused(
    served: Served, identity: Identity, revoked: RevokedSessions
) -> None:
    ada = identity.user()
    await served.stub.ListNotifications(pb.ListNotificationsRequest(), metadata=ada.metadata)
    await revoked(delivery(events.session(ada.user_id, session_id=ada.session_id)))
    error = await error_of(
        served.stub.ListNotifications(pb.ListNotificationsRequest(), metadata=ada.metadata)
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    other_session = identity.user()
    await served.stub.ListNotifications(
        pb.ListNotificationsRequest(), metadata=other_session.metadata
    )


async def _watching(app: Notifications, user: User, count: int = 1) -> None:
    async def subscribed() -> bool:
        return app.hub.watcher_count(user.user_id) == count

    await eventually(subscribed, timeout=10, interval=0.01, what="the stream subscribed")


async def test_a_stream_sends_the_callers_new_notifications_only(
    app: Notifications, served: Served, identity: Identity
) -> None:
    ada, bob = identity.user(), identity.user()
    call = served.stub.StreamNotifications(pb.StreamNotificationsRequest(), metadata=ada.metadata)
    await _watching(app, ada)
    await deliver(
        app,
        events.trade(bob.user_id, symbol="TSLA"),
        events.order(ada.user_id, trading_pb2.ORDER_STATUS_REJECTED, reject_reason="no cash"),
        events.order(ada.user_id, trading_pb2.ORDER_STATUS_OPEN),  # makes none
        events.trade(ada.user_id, symbol="NVDA"),
    )
    first = await asyncio.wait_for(call.read(), 10)
    second = await asyncio.wait_for(call.read(), 10)
    assert [first.notification.title, second.notification.title] == [
        "Order rejected: Sell 5 MSFT",
        "Bought 10 NVDA at 189.20",
    ]
    assert {first.notification.user_id, second.notification.user_id} == {ada.user_id}
    # What the stream sent is what the feed lists.
    listed = await served.stub.ListNotifications(
        pb.ListNotificationsRequest(), metadata=ada.metadata
    )
    assert [n for n in listed.notifications] == [second.notification, first.notification]
    call.cancel()
    await _watching(app, ada, 0)


async def test_a_redelivered_event_is_stored_and_streamed_once(
    app: Notifications, served: Served, identity: Identity
) -> None:
    ada = identity.user()
    call = served.stub.StreamNotifications(pb.StreamNotificationsRequest(), metadata=ada.metadata)
    await _watching(app, ada)
    event = events.trade(ada.user_id)
    await deliver(app, event, event)
    await deliver(app, events.session(ada.user_id))
    titles = [(await asyncio.wait_for(call.read(), 10)).notification.title for _ in range(2)]
    assert titles == ["Bought 10 AAPL at 189.20", "Signed out"]
    listed = await served.stub.ListNotifications(
        pb.ListNotificationsRequest(), metadata=ada.metadata
    )
    assert len(listed.notifications) == 2
    call.cancel()


async def test_a_watcher_that_falls_behind_is_ended_and_others_are_not(
    served: Served, app: Notifications, identity: Identity
) -> None:
    ada, bob = identity.user(), identity.user()
    flooded = served.stub.StreamNotifications(
        pb.StreamNotificationsRequest(), metadata=ada.metadata
    )
    other = served.stub.StreamNotifications(pb.StreamNotificationsRequest(), metadata=bob.metadata)
    await _watching(app, ada)
    await _watching(app, bob)
    # More than the buffer holds, handed over without the stream getting a chance to send.
    for i in range(app.config.stream_buffer_size + 1):
        made = render(events.trade(ada.user_id, quantity=str(i + 1)))
        assert made is not None
        app.hub.publish(made)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await asyncio.wait_for(flooded.read(), 10)
    details = status_details(raised.value)
    assert details.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "list them and stream again" in (raised.value.details() or "")
    await _watching(app, ada, 0)

    await deliver(app, events.trade(bob.user_id, symbol="AMD"))
    got = await asyncio.wait_for(other.read(), 10)
    assert got.notification.title == "Bought 10 AMD at 189.20"
    other.cancel()
