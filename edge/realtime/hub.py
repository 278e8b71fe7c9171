"""One upstream gRPC server stream per room, shared by its members: opened by the first join
with the joiner's token, cancelled after the last leave (the stream itself: `stream.py`).

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
import time
from dataclasses import dataclass

import grpc

from edge.errors import make_status, status_from_rpc_error
from edge.realtime.config import RealtimeConfig
from edge.realtime.metrics import RealtimeMetrics
from edge.realtime.rooms import RoomTarget
from edge.realtime.stream import (
    EVENT,
    Emitter,
    Refused,
    Room,
    Shared,
    StreamSource,
    bearer,
    closing,
)
from mesh.context import Principal


@dataclass(frozen=True)
class Joined:
    room: str
    seq: int  # the last sequence number the member has been sent or skipped
    resync: bool  # events were missed that could not be replayed


class RoomHub:
    def __init__(
        self,
        upstream: StreamSource,
        emitter: Emitter,
        config: RealtimeConfig | None = None,
        metrics: RealtimeMetrics | None = None,
    ) -> None:
        self._config = config or RealtimeConfig()
        self._shared = Shared(
            upstream, emitter, self._config, metrics or RealtimeMetrics(), time.time_ns() // 10**6
        )
        self._rooms: dict[str, Room] = {}
        self._memberships: dict[str, set[str]] = {}  # sid → rooms
        self._stopped = False

    # -- introspection --

    def rooms(self) -> dict[str, int]:
        """Open rooms and their member counts."""
        return {name: len(room.members) for name, room in self._rooms.items()}

    def rooms_of(self, sid: str) -> frozenset[str]:
        return frozenset(self._memberships.get(sid, ()))

    def upstream_open(self, room: str) -> bool:
        found = self._rooms.get(room)
        return found is not None and not found.task.done()

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
            await self._shared.emitter.leave_room(sid, name)
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
            room.task.cancel()
        await asyncio.gather(*(room.task for room in rooms), return_exceptions=True)

    # -- internals --

    def _open(self, target: RoomTarget, principal: Principal) -> Room:
        room = Room(target, principal, self._shared, self._ended)
        self._rooms[room.name] = room
        self._shared.metrics.rooms.inc()
        return room

    async def _wait_accepted(self, room: Room) -> None:
        if room.accepted.done():
            room.accepted.result()  # raises Refused
            return
        window = self._config.accept_window_seconds
        try:
            await asyncio.wait_for(asyncio.shield(room.accepted), window)
        except TimeoutError:
            # Neither refused nor written within the window: a quiet stream, accepted.
            room.accept()

    async def _probe(self, target: RoomTarget, principal: Principal) -> None:
        """Refuses the join if the service refuses `principal` a stream of this room."""
        messages = self._shared.upstream.stream(
            target.method, target.request, metadata=bearer(principal)
        )
        async with closing(messages):
            try:
                await asyncio.wait_for(anext(messages), self._config.accept_window_seconds)
            except (TimeoutError, StopAsyncIteration):
                pass
            except grpc.aio.AioRpcError as error:
                raise Refused(status_from_rpc_error(error)) from None

    async def _admit(
        self, room: Room, sid: str, principal: Principal, since: int | None, opener: bool
    ) -> Joined:
        if room.closed:
            raise Refused(make_status(grpc.StatusCode.UNAVAILABLE, f"room {room.name} ended"))
        emitter = self._shared.emitter
        async with room.lock:
            # Under the lock: no event is emitted between the replay and membership. The
            # tables first, so a join cancelled from here on is undone by `leave_all`.
            room.members[sid] = principal
            self._memberships.setdefault(sid, set()).add(room.name)
            await emitter.enter_room(sid, room.name)
            if since is None and not opener:
                return Joined(room.name, room.buffer.seq, False)
            replay = room.buffer.since(since)
            for event in replay.events:
                await emitter.emit(EVENT, event, to=sid)
            return Joined(room.name, room.buffer.seq, replay.resync)

    async def _ended(self, room: Room) -> None:
        """The room's stream stopped by itself: refused, or failed for good."""
        self._drop(room)  # first: the leaves below must not cancel the room's own task
        for sid in list(room.members):
            await self.leave(sid, room.name)

    def _close_if_empty(self, room: Room) -> None:
        if room.members or room.pending or room.closed:
            return
        self._drop(room)
        room.task.cancel()

    def _drop(self, room: Room) -> None:
        if self._rooms.get(room.name) is room:
            del self._rooms[room.name]
        self._retire(room)

    def _retire(self, room: Room) -> None:
        if not room.closed:
            room.closed = True
            self._shared.metrics.rooms.dec()
        room.refuse(make_status(grpc.StatusCode.UNAVAILABLE, f"room {room.name} closed"))
