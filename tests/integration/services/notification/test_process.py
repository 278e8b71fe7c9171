"""The notification service as it runs in production: `python -m services.notification` in
its own process next to a real identity process, mTLS, registered in the real Consul, fed by
the real Kafka, called through the mesh client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc
from trademesh.notification.v1 import notification_pb2 as pb
from trademesh.notification.v1 import notification_pb2_grpc as pb_grpc
from trademesh.trading.v1 import trading_pb2

from interceptors import bearer_metadata
from mesh.client import ClientConfig, MeshClient
from mesh.discovery import ConsulClient
from mesh.events import EventsConfig, Producer, topic_named
from mesh.infra import Consul, Kafka
from mesh.tls import TlsConfig, load_service_credentials
from tests.conftest import eventually
from tests.integration.services._process import ServiceProcess, launch, run_to_exit
from tests.unit.services.notification import events
from tests.unit.services.notification.conftest import Inbox

ADMIN = ("root@notification.test", "admin password of some length")
TIMEOUT = 60.0
UNARY_DEFAULT_DEADLINE_SECONDS = ClientConfig().default_timeout_seconds


@dataclass
class Stack:
    identity: ServiceProcess
    notification: ServiceProcess
    mesh: MeshClient
    producer: Producer
    tls_dir: Path


@pytest_asyncio.fixture(scope="module")
async def stack(
    consul: Consul, kafka: Kafka, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    workdir = tmp_path_factory.mktemp("notification-process")
    identity = await launch(
        "identity",
        consul,
        workdir,
        {
            "TRADEMESH_IDENTITY_SQLITE_PATH": str(workdir / "identity.db"),
            "TRADEMESH_IDENTITY_ADMIN_EMAIL": ADMIN[0],
            "TRADEMESH_IDENTITY_ADMIN_PASSWORD": ADMIN[1],
            "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": kafka.address,
        },
    )
    try:
        notification = await launch(
            "notification",
            consul,
            workdir,
            {
                "TRADEMESH_NOTIFICATION_SQLITE_PATH": str(workdir / "notification.db"),
                "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": kafka.address,
            },
        )
        try:
            tls_dir = consul.state_dir / "tls"
            credentials = load_service_credentials(TlsConfig(tls_dir), "edge")
            mesh = MeshClient(ClientConfig(consul_address=consul.address), credentials=credentials)
            config = EventsConfig(bootstrap_servers=kafka.address, client_id="notification-e2e")
            async with mesh, Producer(config, source="notification-e2e") as producer:
                yield Stack(identity, notification, mesh, producer, tls_dir)
        finally:
            await notification.stop()
    finally:
        await identity.stop()


@dataclass
class SignedIn:
    user_id: str
    session_id: str
    metadata: tuple[tuple[str, str], ...]


async def _sign_in(stack: Stack) -> SignedIn:
    stub: Any = await stack.mesh.stub(identity_pb2_grpc.IdentityServiceStub, "identity")
    login = await stub.Login(identity_pb2.LoginRequest(email=ADMIN[0], password=ADMIN[1]))
    return SignedIn(
        login.user.user_id, login.tokens.session_id, (bearer_metadata(login.tokens.access_token),)
    )


async def _notifications(stack: Stack) -> Any:
    return await stack.mesh.stub(pb_grpc.NotificationServiceStub, "notification")


async def _publish(stack: Stack, *messages: Any, key: str = "e2e") -> None:
    by_type = {
        t.event_type: t
        for t in map(
            topic_named,
            (
                "trading.trades.v1",
                "trading.orders.v1",
                "portfolio.updates.v1",
                "identity.sessions.v1",
            ),
        )
    }
    for message in messages:
        await stack.producer.send(by_type[message.DESCRIPTOR.full_name], message, key=key)


async def test_events_become_a_feed_streamed_past_the_unary_deadline(stack: Stack) -> None:
    user = await _sign_in(stack)
    stub = await _notifications(stack)
    inbox = Inbox(stub.StreamNotifications(pb.StreamNotificationsRequest(), metadata=user.metadata))

    # The service reads the topics from the latest offset for its streams once it has its
    # partitions: publish until one arrives, proving the stream live.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while True:
        await _publish(stack, events.portfolio(user.user_id, 1, name="Primer"))
        try:
            first = await inbox.next(1.0)
            break
        except TimeoutError:
            assert loop.time() < deadline, stack.notification.log()[-4000:]
    assert first.title == "Portfolio Primer created"

    # Outlive the mesh client's unary default deadline; the stream must still deliver.
    opened = loop.time()
    while loop.time() - opened < UNARY_DEFAULT_DEADLINE_SECONDS + 1:
        await asyncio.sleep(0.5)
    assert not inbox.call.done()
    trade = events.trade(user.user_id, symbol="LONG")
    await _publish(stack, trade, events.order(user.user_id, trading_pb2.ORDER_STATUS_CANCELLED))
    # Two topics: either may arrive first.
    wanted = {"Bought 10 LONG at 189.20", "Order cancelled: Sell 5 MSFT"}
    seen: set[str] = set()
    while not wanted <= seen:
        seen.add((await inbox.next(TIMEOUT)).title)
    inbox.close()

    async def listed() -> bool:
        page = await stub.ListNotifications(
            pb.ListNotificationsRequest(page_size=100), metadata=user.metadata
        )
        return {"Bought 10 LONG at 189.20", "Order cancelled: Sell 5 MSFT"} <= {
            n.title for n in page.notifications
        }

    await eventually(listed, timeout=TIMEOUT, what="the feed lists the streamed notifications")
    marked = await stub.MarkRead(pb.MarkReadRequest(all=True), metadata=user.metadata)
    assert marked.marked_count >= 2


async def test_a_revoked_session_is_refused_within_seconds(stack: Stack) -> None:
    user = await _sign_in(stack)
    stub = await _notifications(stack)
    await stub.ListNotifications(pb.ListNotificationsRequest(), metadata=user.metadata)
    await _publish(stack, events.session(user.user_id, session_id=user.session_id))

    async def refused() -> bool:
        try:
            await stub.ListNotifications(pb.ListNotificationsRequest(), metadata=user.metadata)
        except grpc.aio.AioRpcError as error:
            return error.code() == grpc.StatusCode.UNAUTHENTICATED
        return False

    await eventually(refused, timeout=30, what="the revoked session refused")


async def test_another_users_token_sees_none_of_this_feed(stack: Stack) -> None:
    identity: Any = await stack.mesh.stub(identity_pb2_grpc.IdentityServiceStub, "identity")
    other = await identity.Register(
        identity_pb2.RegisterRequest(
            email="other@notification.test", password=ADMIN[1], display_name="Other"
        )
    )
    stub = await _notifications(stack)
    page = await stub.ListNotifications(
        pb.ListNotificationsRequest(),
        metadata=(bearer_metadata(other.tokens.access_token),),
    )
    assert list(page.notifications) == [] and page.unread_count == 0


async def test_sigterm_deregisters_and_exits_cleanly(stack: Stack, consul: Consul) -> None:
    await stack.mesh.connect("notification")
    (instance,) = stack.mesh.instances("notification")
    assert await stack.notification.stop() == 0, stack.notification.log()[-4000:]
    async with ConsulClient(consul.address) as client:
        assert await client.check_status(instance.instance_id) is None
    assert "notification: signal received, shutting down" in stack.notification.log()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TRADEMESH_NOTIFICATION_STREAM_BUFFER_SIZE", "0"),
        ("TRADEMESH_NOTIFICATION_DATABASE_URL", "mysql://db/feed"),
        ("TRADEMESH_EVENTS_BOOTSTRAP_SERVERS", "no-port"),
    ],
)
async def test_bad_configuration_stops_start_up_naming_the_key(
    consul: Consul, tmp_path: Path, key: str, value: str
) -> None:
    env = {
        "TRADEMESH_STATE_DIR": str(tmp_path),
        "TRADEMESH_NOTIFICATION_SQLITE_PATH": str(tmp_path / "notification.db"),
        key: value,
    }
    exited = await run_to_exit("notification", consul, env)
    assert exited.code == 2, exited.output
    assert key in exited.output, exited.output
    assert "db/feed" not in exited.output  # a URL may carry a password: only its scheme is shown
