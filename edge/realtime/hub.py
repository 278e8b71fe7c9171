"""One upstream gRPC server stream per room, shared by its members: opened by the first join
with the joiner's token, fanned out to the room once per event, reopened with backoff after a
failure, cancelled after the last leave.

A join is acknowledged once the service has accepted the stream. Services refuse a stream
(UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, INVALID_ARGUMENT) before writing anything,
but the correlation interceptor sends initial metadata before the auth check runs, so initial
metadata says nothing; and a quiet stream (orders, notifications) may not write for minutes.
So a join waits for the stream's first message or its failure, at most
`accept_window_seconds`: a stream that neither failed nor wrote by then is taken as accepted.
Later joiners of a room whose name is not just their own claim are checked the same way with
a short-lived stream opened with their own token, cancelled at once (once per user while the
room stays open)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf.message import Message
from google.rpc import status_pb2

from edge.codec import codec_for
from edge.contracts import MethodContract
from edge.errors import make_status, status_from_rpc_error, status_json
from edge.realtime.buffer import EventBuffer
from edge.realtime.config import RealtimeConfig
from edge.realtime.metrics import RealtimeMetrics
from edge.realtime.rooms import RoomTarget
from mesh.context import Principal

log = logging.getLogger(__name__)

EVENT = "event"  # {"room", "seq", "data"}: one event name, so one client handler serves all rooms
ROOM_STATUS = "room_status"  # {"room", "state": "retrying"|"live", "error"?, "attempt"?}
ROOM_ERROR = "room_error"  # {"room", "error": Status}: the room ended; its members were removed

# Codes that mean the stream will not work again by retrying (reopened after a failure).
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
    """The part of `socketio.AsyncServer` the hub uses."""

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


@dataclass(frozen=True)
class Joined:
    room: str
    seq: int  # the last sequence number the member has been sent or skipped
    resync: bool  # events were missed that could not be replayed


@contextlib.asynccontextmanager
async def _closing(messages: AsyncIterator[Message]) -> AsyncIterator[AsyncIterator[Message]]:
    """Closes an async generator on the way out, which cancels its gRPC call at once."""
    try:
        yield messages
    finally:
        aclose = getattr(messages, "aclose", None)
        if aclose is not None:
            await aclose()


def _bearer(principal: Principal) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {principal.token}")]


class _Room:
    def __init__(self, target: RoomTarget, opener: Principal, size: int, base: int) -> None:
        self.target = target
        self.name = target.room
        self.members: dict[str, Principal] = {}
        self.opener = opener
        self.pending = 0  # joins in flight
        # Users the service accepted for this stream while it is open: their other sockets
        # join without another check.
        self.cleared: set[str] = {opener.user_id}
        self.buffer = EventBuffer(size, base)
        self.lock = asyncio.Lock()  # orders fan-out and replay to a joiner
        self.accepted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task[None] | None = None
        self.closed = False

    def principal(self) -> Principal:
        """Whose token reopens the stream: the newest member's, else the opener's."""
        return next(reversed(self.members.values()), self.opener)

    def accept(self) -> None:
        if not self.accepted.done():
            self.accepted.set_result(None)


class RoomHub:
    def __init__(
        self,
        upstream: StreamSource,
        emitter: Emitter,
        config: RealtimeConfig | None = None,
        metrics: RealtimeMetrics | None = None,
    ) -> None:
        self._upstream = upstream
        self._emitter = emitter
        self._config = config or RealtimeConfig()
        self._metrics = metrics or RealtimeMetrics()
        self._rooms: dict[str, _Room] = {}
        self._memberships: dict[str, set[str]] = {}  # sid → rooms
        # One clock for all rooms, started at the wall clock in ms: a room reopened later, or
        # by a restarted edge, numbers its events above anything it numbered before, so a
        # stale `since` is always seen as a gap.
        self._clock = time.time_ns() // 1_000_000
        self._stopped = False

    # -- introspection --

    def rooms(self) -> dict[str, int]:
        """Open rooms and their member counts."""
        return {name: len(room.members) for name, room in self._rooms.items()}

    def rooms_of(self, sid: str) -> frozenset[str]:
        return frozenset(self._memberships.get(sid, ()))

    def upstream_open(self, room: str) -> bool:
        found = self._rooms.get(room)
        return found is not None and found.task is not None and not found.task.done()

    # -- joining and leaving --

    async def join(
        self, sid: str, target: RoomTarget, principal: Principal, since: int | None = None
    ) -> Joined:
        """Make `sid` a member of `target.room` once the service accepts it; raises `Refused`.
        Cancelling a join leaves nothing behind (the last one out cancels the stream)."""
        if self._stopped:
            raise Refused(make_status(grpc.StatusCode.UNAVAILABLE, "the edge is stopping"))
        name = target.room
        if name in self._memberships.get(sid, ()):
            return Joined(name, self._rooms[name].buffer.seq, False)
        # A room whose opening fails with the opener's token may still accept ours: try once
        # more as its opener.
        for attempt in (1, 2):
            room = self._rooms.get(name)
            opener = room is None
            if room is None:
                room = self._open(target, principal)
            room.pending += 1
            try:
                try:
                    await self._wait_accepted(room)
                except Refused:
                    if opener or attempt == 2:
                        raise
                    continue
                if not (target.pattern.claim_bound or principal.user_id in room.cleared):
                    await self._probe(target, principal)
                    room.cleared.add(principal.user_id)
                return await self._admit(room, sid, principal, since, opener)
            finally:
                room.pending -= 1
                self._close_if_empty(room)
        raise AssertionError("unreachable")

    async def leave(self, sid: str, name: str) -> bool:
        """Whether `sid` was a member of `name`."""
        rooms = self._memberships.get(sid)
        if rooms is None or name not in rooms:
            return False
        rooms.discard(name)
        if not rooms:
            del self._memberships[sid]
        room = self._rooms.get(name)
        if room is not None:
            room.members.pop(sid, None)
            self._close_if_empty(room)
        with contextlib.suppress(Exception):  # the socket may be gone already
            await self._emitter.leave_room(sid, name)
        return True

    async def leave_all(self, sid: str) -> None:
        for name in sorted(self._memberships.get(sid, ())):
            await self.leave(sid, name)

    async def stop(self) -> None:
        """Cancel every upstream stream and wait for them to end. Safe twice."""
        self._stopped = True
        rooms, self._rooms = list(self._rooms.values()), {}
        self._memberships.clear()
        for room in rooms:
            self._retire(room)
        tasks = [room.task for room in rooms if room.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- internals --

    def _open(self, target: RoomTarget, principal: Principal) -> _Room:
        self._clock += 1
        room = _Room(target, principal, self._config.buffer_size, self._clock)
        self._rooms[room.name] = room
        self._metrics.rooms.inc()
        room.task = asyncio.create_task(self._run(room), name=f"room {room.name}")
        return room

    async def _wait_accepted(self, room: _Room) -> None:
        if room.accepted.done():
            room.accepted.result()  # raises Refused
            return
        try:
            await asyncio.wait_for(
                asyncio.shield(room.accepted), self._config.accept_window_seconds
            )
        except TimeoutError:
            # Neither refused nor written within the window: a quiet stream, accepted.
            room.accept()

    async def _probe(self, target: RoomTarget, principal: Principal) -> None:
        """Refuses the join if the service refuses `principal` a stream of this room."""
        messages = self._upstream.stream(target.method, target.request, metadata=_bearer(principal))
        async with _closing(messages):
            try:
                await asyncio.wait_for(anext(messages), self._config.accept_window_seconds)
            except (TimeoutError, StopAsyncIteration):
                pass
            except grpc.aio.AioRpcError as error:
                raise Refused(status_from_rpc_error(error)) from None

    async def _admit(
        self, room: _Room, sid: str, principal: Principal, since: int | None, opener: bool
    ) -> Joined:
        if room.closed:
            raise Refused(make_status(grpc.StatusCode.UNAVAILABLE, f"room {room.name} ended"))
        async with room.lock:
            # Under the lock: no event is emitted between the replay and membership. The
            # tables first, so a join cancelled from here on is undone by `leave_all`.
            room.members[sid] = principal
            self._memberships.setdefault(sid, set()).add(room.name)
            await self._emitter.enter_room(sid, room.name)
            if since is None and not opener:
                return Joined(room.name, room.buffer.seq, False)
            replay = room.buffer.since(since)
            for event in replay.events:
                await self._emitter.emit(EVENT, event, to=sid)
            return Joined(room.name, room.buffer.seq, replay.resync)

    def _close_if_empty(self, room: _Room) -> None:
        if room.members or room.pending or room.closed:
            return
        if self._rooms.get(room.name) is room:
            del self._rooms[room.name]
        self._retire(room)
        if room.task is not None:
            room.task.cancel()

    def _retire(self, room: _Room) -> None:
        if not room.closed:
            room.closed = True
            self._metrics.rooms.dec()
        if not room.accepted.done():
            room.accepted.set_exception(
                Refused(make_status(grpc.StatusCode.UNAVAILABLE, f"room {room.name} closed"))
            )
            room.accepted.exception()  # retrieved: nobody may be waiting

    async def _run(self, room: _Room) -> None:
        attempt = 0
        method, request = room.target.method, room.target.request
        codec = codec_for(method.output)
        while True:
            live = False
            try:
                messages = self._upstream.stream(
                    method, request, metadata=_bearer(room.principal())
                )
                self._metrics.upstream_streams.inc()
                try:
                    async with _closing(messages):
                        async for message in messages:
                            room.accept()
                            if attempt and not live:
                                live = True
                                attempt = 0
                                await self._tell(room, ROOM_STATUS, state="live")
                            await self._fan_out(room, codec.to_dict(message))
                finally:
                    self._metrics.upstream_streams.dec()
                status = make_status(grpc.StatusCode.UNAVAILABLE, "the upstream stream ended")
            except grpc.aio.AioRpcError as error:
                status = status_from_rpc_error(error)
            except Exception:
                log.exception("room %s: upstream stream failed", room.name)
                status = make_status(grpc.StatusCode.INTERNAL, "the upstream stream failed")
            if not room.accepted.done():
                room.accepted.set_exception(Refused(status))
                room.accepted.exception()
                self._drop(room)
                return
            code = next((c for c in grpc.StatusCode if c.value[0] == status.code), None)
            if code in FINAL:
                await self._tell(room, ROOM_ERROR, error=status_json(status))
                self._drop(room)  # first: the leaves below must not cancel this very task
                for sid in list(room.members):
                    await self.leave(sid, room.name)
                return
            attempt += 1
            self._metrics.upstream_retries.inc()
            await self._tell(
                room, ROOM_STATUS, state="retrying", attempt=attempt, error=status_json(status)
            )
            await asyncio.sleep(self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._config.retry_cap_seconds, self._config.retry_base_seconds * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)  # "equal jitter": never a hot loop

    def _drop(self, room: _Room) -> None:
        if self._rooms.get(room.name) is room:
            del self._rooms[room.name]
        self._retire(room)

    async def _fan_out(self, room: _Room, data: dict[str, Any]) -> None:
        async with room.lock:
            self._clock += 1
            event = {"room": room.name, "seq": room.buffer.next_seq(), "data": data}
            room.buffer.append(event)
            # One emit to the room: python-socketio encodes the packet once for all members.
            await self._emitter.emit(EVENT, event, room=room.name)
        self._metrics.events_emitted.labels(room.target.pattern.pattern).inc()

    async def _tell(self, room: _Room, event: str, **fields: Any) -> None:
        with contextlib.suppress(Exception):
            await self._emitter.emit(event, {"room": room.name, **fields}, room=room.name)
