"""The Socket.IO side of the edge: python-socketio's ASGI server beside the Starlette app,
clients authenticated on connect, `subscribe`/`unsubscribe` acknowledged with a sequence
number or a `google.rpc.Status`, and sockets of revoked sessions disconnected."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

import grpc
import socketio  # type: ignore[import-untyped,unused-ignore]
from google.rpc import status_pb2
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp

from edge.contracts import Contracts
from edge.errors import EdgeError, bad_request, error_info, make_status, status_json
from edge.realtime.config import RealtimeConfig
from edge.realtime.hub import RoomHub
from edge.realtime.memory import tune_gc
from edge.realtime.metrics import RealtimeMetrics
from edge.realtime.rooms import RoomTable
from edge.realtime.stream import Refused, StreamSource
from mesh.context import Principal
from mesh.lifecycle import Lifecycle

log = logging.getLogger(__name__)

SESSION_REVOKED = "session_revoked"  # {"error": Status}, sent just before the disconnect

Ack = dict[str, Any]
Unsubscribe = Callable[[], None]
# `RevokedSessions.subscribe`: registers a callback for each newly revoked session id.
RevocationHook = Callable[[Callable[[str], None]], Unsubscribe]

_SUBSCRIBE_FIELDS = frozenset({"room", "since"})
_UNSUBSCRIBE_FIELDS = frozenset({"room"})


class Authenticator(Protocol):
    """`edge.auth.EdgeAuth`: None without a header, `EdgeError` (401) for a bad token."""

    async def authenticate(self, authorization: str | None) -> Principal | None: ...


def _error(status: status_pb2.Status) -> Ack:
    return {"error": status_json(status)}


def _invalid(field: str, description: str) -> Ack:
    return _error(EdgeError.invalid(field, description).status)


def _payload(data: object, allowed: frozenset[str]) -> dict[str, Any] | Ack:
    """The payload as a dict, or the error ack naming what is wrong with it."""
    if not isinstance(data, dict):
        return _invalid("", 'the payload must be an object such as {"room": "quotes:AAPL"}')
    unknown = sorted(set(data) - allowed)
    if unknown:
        return _invalid(unknown[0], f"unknown field; known fields: {', '.join(sorted(allowed))}")
    return data


class Realtime(Lifecycle):
    """Owns the Socket.IO server and the room hub. Mount with `asgi(starlette_app)` and run
    `start()`/`stop()` (or `async with`) around serving it."""

    def __init__(
        self,
        contracts: Contracts,
        upstream: StreamSource,
        authenticator: Authenticator,
        config: RealtimeConfig | None = None,
        *,
        registry: CollectorRegistry | None = None,
        on_revoked: RevocationHook | None = None,
        gc_tuning: bool = False,
    ) -> None:
        self.config = config or RealtimeConfig()
        self.metrics = RealtimeMetrics(registry)
        self.table = RoomTable.build(contracts)
        origins = list(self.config.cors_origins)
        self.server = socketio.AsyncServer(
            async_mode="asgi",
            # None: same origin only; "*": any.
            cors_allowed_origins="*" if "*" in origins else (origins or None),
            ping_interval=self.config.ping_interval_seconds,
            ping_timeout=self.config.ping_timeout_seconds,
        )
        self.hub = RoomHub(upstream, self.server, self.config, self.metrics)
        self._authenticator = authenticator
        self._on_revoked = on_revoked
        self._gc_tuning = gc_tuning
        self._unsubscribe: Unsubscribe | None = None
        self._principals: dict[str, Principal] = {}
        self._joins: dict[str, set[asyncio.Task[Any]]] = {}
        self._revocations: set[asyncio.Task[None]] = set()
        self._started = self._stopped = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.server.on("connect", self._connect)
        self.server.on("disconnect", self._disconnect)
        self.server.on("subscribe", self._subscribe)
        self.server.on("unsubscribe", self._unsubscribe_event)

    def asgi(self, other_asgi_app: ASGIApp | None = None) -> ASGIApp:
        """The ASGI app serving Socket.IO at `/<socketio_path>/` and `other_asgi_app` (the
        Starlette app) everywhere else, lifespan included."""
        app: ASGIApp = socketio.ASGIApp(
            self.server, other_asgi_app=other_asgi_app, socketio_path=self.config.socketio_path
        )
        return app

    def update_contracts(self, contracts: Contracts) -> None:
        """A new room table (contracts learned by reflection); open rooms keep their stream.
        Raises `RoomTableError` and keeps the old table when the new one is refused."""
        self.table = RoomTable.build(contracts)

    def connected(self, session_id: str | None = None) -> list[str]:
        """The sids connected, or those of one session."""
        return [
            sid
            for sid, principal in self._principals.items()
            if session_id is None or principal.session_id == session_id
        ]

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._loop = asyncio.get_running_loop()
        if self._on_revoked is not None:
            self._unsubscribe = self._on_revoked(self.revoked)
        if self._gc_tuning:
            tune_gc()

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        joins = [task for tasks in self._joins.values() for task in tasks]
        for task in [*joins, *self._revocations]:
            task.cancel()
        await asyncio.gather(*joins, *self._revocations, return_exceptions=True)
        await self.hub.stop()
        for sid in list(self._principals):
            with contextlib.suppress(Exception):
                await self.server.disconnect(sid)
        await self.server.shutdown()

    # -- revocation --

    def revoked(self, session_id: str) -> None:
        """Disconnects every socket of `session_id` (the `RevokedSessions` callback); may be
        called from another thread once started."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self.revoked, session_id)
            return
        for sid in self.connected(session_id):
            task = loop.create_task(self._revoke(sid))
            self._revocations.add(task)
            task.add_done_callback(self._revocations.discard)

    async def _revoke(self, sid: str) -> None:
        status = make_status(
            grpc.StatusCode.UNAUTHENTICATED,
            "the session was revoked",
            details=[error_info("SESSION_REVOKED")],
        )
        with contextlib.suppress(Exception):
            await self.server.emit(SESSION_REVOKED, {"error": status_json(status)}, to=sid)
        await self.server.disconnect(sid)

    # -- handlers --

    async def _connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        if self._stopped:
            raise socketio.exceptions.ConnectionRefusedError(
                "the edge is stopping",
                status_json(make_status(grpc.StatusCode.UNAVAILABLE, "the edge is stopping")),
            )
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            refusal = EdgeError(
                grpc.StatusCode.UNAUTHENTICATED,
                'a token is required: connect with auth {"token": "<access token>"}',
                details=[error_info("TOKEN_MISSING"), bad_request("token", "missing")],
            )
            raise socketio.exceptions.ConnectionRefusedError(
                str(refusal), status_json(refusal.status)
            )
        try:
            principal = await self._authenticator.authenticate(f"Bearer {token}")
        except EdgeError as error:
            raise socketio.exceptions.ConnectionRefusedError(
                str(error), status_json(error.status)
            ) from None
        except Exception:
            log.exception("verifying a Socket.IO token failed")
            status = make_status(grpc.StatusCode.UNAVAILABLE, "the token could not be verified")
            raise socketio.exceptions.ConnectionRefusedError(
                status.message, status_json(status)
            ) from None
        if principal is None:  # an authenticator that saw no token
            status = make_status(grpc.StatusCode.UNAUTHENTICATED, "the token was not accepted")
            raise socketio.exceptions.ConnectionRefusedError(status.message, status_json(status))
        self._principals[sid] = principal
        self.metrics.connections.inc()

    async def _disconnect(self, sid: str, reason: object = None) -> None:
        joins = self._joins.pop(sid, set())
        for task in joins:
            task.cancel()
        # Let cancelled joins unwind before leaving, so none re-adds the sid afterwards.
        await asyncio.gather(*joins, return_exceptions=True)
        await self.hub.leave_all(sid)
        if self._principals.pop(sid, None) is not None:
            self.metrics.connections.dec()

    async def _subscribe(self, sid: str, data: object = None) -> Ack:
        payload = _payload(data, _SUBSCRIBE_FIELDS)
        if "error" in payload:
            return payload
        since = payload.get("since")
        if since is not None and (type(since) is not int or since < 0):
            return _invalid("since", "must be a non-negative integer: the last seq received")
        principal = self._principals.get(sid)
        if principal is None:
            return _error(make_status(grpc.StatusCode.UNAUTHENTICATED, "not connected"))
        try:
            target = self.table.resolve(payload.get("room"), principal)
        except EdgeError as error:
            return _error(error.status)
        joined_rooms = self.hub.rooms_of(sid)
        if (
            target.room not in joined_rooms
            and len(joined_rooms) >= self.config.max_rooms_per_client
        ):
            return _error(
                make_status(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"at most {self.config.max_rooms_per_client} rooms per connection",
                    details=[error_info("TOO_MANY_ROOMS")],
                )
            )
        join = asyncio.create_task(self.hub.join(sid, target, principal, since))
        self._joins.setdefault(sid, set()).add(join)
        try:
            joined = await join
        except Refused as refused:
            return _error(refused.status)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            return _error(make_status(grpc.StatusCode.CANCELLED, "the client went away"))
        finally:
            tasks = self._joins.get(sid)
            if tasks is not None:
                tasks.discard(join)
        return {"ok": True, "room": joined.room, "seq": joined.seq, "resync": joined.resync}

    async def _unsubscribe_event(self, sid: str, data: object = None) -> Ack:
        payload = _payload(data, _UNSUBSCRIBE_FIELDS)
        if "error" in payload:
            return payload
        room = payload.get("room")
        if not isinstance(room, str) or not room:
            return _invalid("room", "must be a non-empty string such as 'quotes:AAPL'")
        left = await self.hub.leave(sid, room)
        return {"ok": True, "room": room, "left": left}
