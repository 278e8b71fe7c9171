"""Fixtures for the notification tests: the service assembled on a temp SQLite file, served by
a real grpc.aio server on loopback with the real interceptor chain, and real signed tokens."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf.message import Message
from trademesh.notification.v1 import notification_pb2 as pb
from trademesh.notification.v1 import notification_pb2_grpc

from mesh.events import Delivery
from mesh.tokens.revocations import RevokedSessions
from services.notification import NotificationConfig, Notifications, build_notifications
from services.notification.consumers import FanOut, FeedWriter
from tests.conftest import eventually
from tests.unit.services._mesh import Signer, bearer, listening

Stub = Any  # notification_pb2_grpc.NotificationServiceAsyncStub exists only in the .pyi
STOP_GRACE_SECONDS = 5.0


@dataclass
class User:
    user_id: str
    session_id: str
    token: str = field(repr=False)

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return bearer(self.token)


@dataclass
class Identity:
    """Signs access tokens the way the identity service does."""

    signer: Signer

    def user(self, *roles: str) -> User:
        user_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
        token = self.signer.access(user_id, roles or ("viewer",), session_id=session_id)
        return User(user_id, session_id, token)


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture
def identity(signer: Signer) -> Identity:
    return Identity(signer)


@pytest.fixture
def config(tmp_path: Path) -> NotificationConfig:
    return NotificationConfig(sqlite_path=tmp_path / "notification.sqlite3")


@pytest_asyncio.fixture
async def app(config: NotificationConfig) -> AsyncIterator[Notifications]:
    built = await build_notifications(config)
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
def revoked() -> RevokedSessions:
    return RevokedSessions()


@dataclass
class Served:
    address: str
    channel: grpc.aio.Channel
    stub: Stub


@asynccontextmanager
async def serving(
    app: Notifications, signer: Signer, revoked: RevokedSessions
) -> AsyncIterator[Served]:
    """`app` on a grpc.aio server on loopback behind the real server interceptor chain, whose
    token verifier reads the signer's JWKS (what identity's GetJwks answers)."""
    async with (
        listening(
            app.service_spec().servicers,
            service_name="notification",
            verifier=signer.verifier(),
            is_revoked=revoked.is_revoked,
            grace=STOP_GRACE_SECONDS,
        ) as server,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        stub = notification_pb2_grpc.NotificationServiceStub(channel)
        yield Served(server.address, channel, stub)


@pytest_asyncio.fixture
async def served(
    app: Notifications, signer: Signer, revoked: RevokedSessions
) -> AsyncIterator[Served]:
    async with serving(app, signer, revoked) as running:
        yield running


def delivery(event: Message, *, topic: str = "test.topic", offset: int = 0) -> Delivery:
    """The consumer's view of one record carrying `event`."""
    event_id = str(getattr(event, "event_id", ""))
    return Delivery(
        topic=topic,
        partition=0,
        offset=offset,
        key=None,
        event=event,
        event_id=event_id,
        headers={"ce_id": event_id},
        correlation_id="test-correlation",
        traceparent=None,
    )


async def deliver(app: Notifications, *messages: Message) -> None:
    """What the two consumers of a running instance do with each record: the feed writer
    stores the notification, the fan-out reader hands it to this instance's watchers."""
    fan_out = FanOut(app.hub, app.store)
    for message in messages:
        await FeedWriter(app.store)(delivery(message))
        await fan_out(delivery(message))

        async def handed_over() -> bool:
            return fan_out.pending == 0

        await eventually(handed_over, timeout=10, interval=0.01, what="the hand-over")


class Inbox:
    """Reads a StreamNotifications call in the background. Waiting on the inbox with a
    timeout is safe, where cancelling a pending `call.read()` would cancel the call itself."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self._queue: asyncio.Queue[pb.Notification | BaseException] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async for response in self.call:
                self._queue.put_nowait(response.notification)
            self._queue.put_nowait(EOFError("the stream ended"))
        except grpc.aio.AioRpcError as error:
            self._queue.put_nowait(error)

    async def next(self, timeout: float) -> pb.Notification:
        """The next notification; TimeoutError when none comes in time, the call's error (or
        EOFError) when the stream ended."""
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self.call.cancel()
        self._task.cancel()
