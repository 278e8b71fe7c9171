"""One room's upstream stream: opened with a member's token, each message numbered, kept in
the room's buffer and emitted to the room once, reopened with jittered backoff after a
failure (members told), ended for good on a failure retrying cannot fix. A stream its
instance ended because it is draining is reopened at once, on another instance, without
telling members: they see only a gap."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf.message import Message
from google.rpc import status_pb2

from edge.codec import codec_for
from edge.contracts import MethodContract
from edge.errors import grpc_code, make_status, status_from_rpc_error, status_json
from edge.realtime.buffer import EventBuffer
from edge.realtime.config import RealtimeConfig
from edge.realtime.metrics import RealtimeMetrics
from edge.realtime.rooms import RoomTarget
from mesh.context import Principal
from mesh.errors.draining import is_draining

log = logging.getLogger(__name__)

EVENT = "event"  # {"room", "seq", "data"}: one event name, so one client handler serves all rooms
ROOM_STATUS = "room_status"  # {"room", "state": "retrying"|"live", "error"?, "attempt"?}
ROOM_ERROR = "room_error"  # {"room", "error": Status}: the room ended; its members were removed

# Codes that mean a reopened stream would fail the same way.
FINAL = frozenset(
    {
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)


class StreamSource(Protocol):
    """`edge.upstream.Upstream`'s stream call."""

    def stream(
        self, method: MethodContract, request: Message, *, metadata: Sequence[tuple[str, str]] = ()
    ) -> AsyncIterator[Message]: ...


class Emitter(Protocol):
    """The part of `socketio.AsyncServer` the rooms use."""

    async def emit(
        self, event: str, data: Any = None, *, to: str | None = None, room: str | None = None
    ) -> None: ...

    async def enter_room(self, sid: str, room: str) -> None: ...

    async def leave_room(self, sid: str, room: str) -> None: ...


class Refused(Exception):
    """A join the service (or the hub) refused, with the status to answer."""

    def __init__(self, status: status_pb2.Status) -> None:
        super().__init__(status.message)
        self.status = status


@contextlib.asynccontextmanager
async def closing(messages: AsyncIterator[Message]) -> AsyncIterator[AsyncIterator[Message]]:
    """Closes an async generator on the way out, which cancels its gRPC call at once."""
    try:
        yield messages
    finally:
        aclose = getattr(messages, "aclose", None)
        if aclose is not None:
            await aclose()


def bearer(principal: Principal) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {principal.token}")]


@dataclass
class Shared:
    """What every room of a hub uses, and the hub's clock: one sequence for all rooms,
    started at the wall clock in ms, so a room reopened later, or by a restarted edge, numbers
    its events above anything it numbered before and a stale `since` is always seen as a gap."""

    upstream: StreamSource
    emitter: Emitter
    config: RealtimeConfig
    metrics: RealtimeMetrics
    clock: int

    def tick(self) -> int:
        self.clock += 1
        return self.clock


class Room:
    """`run` is the room's task; `ended(room)` is awaited once it stops by itself (refused
    before it was accepted, or failed for good)."""

    def __init__(
        self,
        target: RoomTarget,
        opener: Principal,
        shared: Shared,
        ended: Callable[[Room], Awaitable[None]],
    ) -> None:
        self.target = target
        self.name = target.room
        self.members: dict[str, Principal] = {}
        self.opener = opener
        self.pending = 0  # joins in flight
        # Users the service accepted for this stream while it is open: their other sockets
        # join without another check.
        self.cleared: set[str] = {opener.user_id}
        self.buffer = EventBuffer(shared.config.buffer_size, shared.tick())
        self.lock = asyncio.Lock()  # orders fan-out and replay to a joiner
        self.accepted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False
        self._shared = shared
        self._ended = ended
        self.task = asyncio.create_task(self.run(), name=f"room {self.name}")

    def principal(self) -> Principal:
        """Whose token reopens the stream: the newest member's, else the opener's."""
        return next(reversed(self.members.values()), self.opener)

    def accept(self) -> None:
        if not self.accepted.done():
            self.accepted.set_result(None)

    def refuse(self, status: status_pb2.Status) -> None:
        if not self.accepted.done():
            self.accepted.set_exception(Refused(status))
            self.accepted.exception()  # retrieved: nobody may be waiting any more

    async def run(self) -> None:
        shared, attempt = self._shared, 0
        method, request = self.target.method, self.target.request
        codec = codec_for(method.output)
        # Set while the stream is a reopen after a drain that has delivered nothing yet: if
        # it fails too, members are told and backoff applies, so that draining instances
        # never make a hot loop.
        moved = False
        while True:
            live = draining = False
            try:
                messages = shared.upstream.stream(
                    method, request, metadata=bearer(self.principal())
                )
                shared.metrics.upstream_streams.inc()
                try:
                    async with closing(messages):
                        async for message in messages:
                            self.accept()
                            moved = False
                            if attempt and not live:
                                live, attempt = True, 0
                                await self.tell(ROOM_STATUS, state="live")
                            await self.fan_out(codec.to_dict(message))
                finally:
                    shared.metrics.upstream_streams.dec()
                status = make_status(grpc.StatusCode.UNAVAILABLE, "the upstream stream ended")
            except grpc.aio.AioRpcError as error:
                status = status_from_rpc_error(error)
                draining = is_draining(error)
            except Exception:
                log.exception("room %s: upstream stream failed", self.name)
                status = make_status(grpc.StatusCode.INTERNAL, "the upstream stream failed")
            if draining and not moved and not attempt:
                log.info("room %s: upstream instance draining, reopening at once", self.name)
                moved = True
                shared.metrics.upstream_retries.inc()
                continue
            moved = False
            if not self.accepted.done():
                self.refuse(status)
                await self._ended(self)
                return
            if grpc_code(status) in FINAL:
                await self.tell(ROOM_ERROR, error=status_json(status))
                await self._ended(self)
                return
            attempt += 1
            shared.metrics.upstream_retries.inc()
            await self.tell(
                ROOM_STATUS, state="retrying", attempt=attempt, error=status_json(status)
            )
            await asyncio.sleep(self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        config = self._shared.config
        ceiling = min(config.retry_cap_seconds, config.retry_base_seconds * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)  # "equal jitter": never a hot loop

    async def fan_out(self, data: dict[str, Any]) -> None:
        async with self.lock:
            self._shared.tick()
            event = {"room": self.name, "seq": self.buffer.next_seq(), "data": data}
            self.buffer.append(event)
            # One emit to the room: python-socketio encodes the packet once for all members.
            await self._shared.emitter.emit(EVENT, event, room=self.name)
        self._shared.metrics.events_emitted.labels(self.target.pattern.pattern).inc()

    async def tell(self, event: str, **fields: Any) -> None:
        with contextlib.suppress(Exception):
            await self._shared.emitter.emit(event, {"room": self.name, **fields}, room=self.name)
