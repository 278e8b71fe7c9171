"""The JS client harness against a real python-socketio AsyncServer served by uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import socketio
import uvicorn

from mesh.infra.errors import InfraError
from tests.conftest import eventually
from tests.integration.edge.jsclient._node import (
    DONE,
    REFUSED,
    SERVER_DISCONNECT,
    SUBSCRIBE_REFUSED,
    TIMED_OUT,
    JsClient,
    NodeClient,
    js_client_lines,
    node_env,
    run_js_client,
)

TOKEN = "good-token"
FORBIDDEN_ROOM = "orders:someone-else"


class _QuietServer(uvicorn.Server):
    """Leaves pytest's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class RoomServer:
    """A tiny Socket.IO server: token auth on connect, `subscribe` joins a room and acks."""

    url: str
    sio: socketio.AsyncServer
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    connected: set[str] = field(default_factory=set)

    async def emit_events(self, room: str, seqs: range) -> None:
        for seq in seqs:
            await self.sio.emit("event", {"room": room, "seq": seq, "data": f"tick {seq}"}, room)


def _socketio_app(server: RoomServer) -> socketio.AsyncServer:
    sio = server.sio

    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        if not isinstance(auth, dict) or auth.get("token") != TOKEN:
            raise socketio.exceptions.ConnectionRefusedError("token invalid")
        server.connected.add(sid)

    async def disconnect(sid: str, reason: str) -> None:
        server.connected.discard(sid)

    async def subscribe(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        server.subscriptions.append(data)
        room = data["room"]
        if room == FORBIDDEN_ROOM:
            return {"error": {"code": 7, "message": f"not allowed to join {room}"}}
        await sio.enter_room(sid, room)
        return {"ok": True, "room": room, "seq": 0}

    sio.on("connect", connect)
    sio.on("disconnect", disconnect)
    sio.on("subscribe", subscribe)
    return sio


@pytest_asyncio.fixture
async def room_server() -> AsyncIterator[RoomServer]:
    sio = socketio.AsyncServer(async_mode="asgi")
    server = RoomServer(url="", sio=sio)
    _socketio_app(server)
    config = uvicorn.Config(
        socketio.ASGIApp(sio), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    web = _QuietServer(config)
    serving = asyncio.create_task(web.serve())

    async def started() -> bool:
        assert not serving.done(), "uvicorn stopped while starting"
        return web.started

    await eventually(started, timeout=20, what="uvicorn listening")
    port = web.servers[0].sockets[0].getsockname()[1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        web.should_exit = True
        await serving


def _of(lines: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["type"] == kind]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_client_connects_gets_the_ack_and_events_in_order(
    room_server: RoomServer, transport: str
) -> None:
    room = f"quotes:{transport.upper()}"
    options = JsClient(room_server.url, room, token=TOKEN, count=3, transport=transport)
    async with NodeClient(options) as client:
        connected = await client.until("connect")
        assert connected["transport"] == transport
        ack = await client.until("ack")
        assert ack["ack"] == {"ok": True, "room": room, "seq": 0}
        await room_server.emit_events(room, range(1, 4))
        rest = await client.rest()
    payloads = [line["payload"] for line in _of(rest, "event")]
    assert payloads == [{"room": room, "seq": s, "data": f"tick {s}"} for s in (1, 2, 3)]
    assert rest[-1] == {"type": "exit", "code": DONE, "reason": "count"}
    assert room_server.subscriptions == [{"room": room}]


async def test_since_is_sent_with_the_subscription(room_server: RoomServer) -> None:
    options = JsClient(room_server.url, "quotes:SINCE", token=TOKEN, since=7, count=0)
    lines = await run_js_client(options)
    assert _of(lines, "ack")[0]["ack"]["ok"] is True
    assert lines[-1]["code"] == DONE
    assert room_server.subscriptions == [{"room": "quotes:SINCE", "since": 7}]


@pytest.mark.parametrize("token", ["wrong-token", None])
async def test_a_bad_or_missing_token_is_a_connect_error_with_the_reason(
    room_server: RoomServer, token: str | None
) -> None:
    lines = await run_js_client(JsClient(room_server.url, "quotes:X", token=token))
    errors = _of(lines, "connect_error")
    assert len(errors) == 1 and errors[0]["message"] == "token invalid"
    assert not _of(lines, "connect") and not _of(lines, "ack")
    assert lines[-1]["code"] == REFUSED
    assert room_server.subscriptions == []


async def test_a_refused_subscription_ends_the_run(room_server: RoomServer) -> None:
    lines = await run_js_client(JsClient(room_server.url, FORBIDDEN_ROOM, token=TOKEN, count=5))
    assert _of(lines, "ack")[0]["ack"]["error"]["code"] == 7
    assert lines[-1]["code"] == SUBSCRIBE_REFUSED


async def test_too_few_events_is_a_timeout(room_server: RoomServer) -> None:
    options = JsClient(room_server.url, "quotes:FEW", token=TOKEN, count=3, timeout_seconds=2)
    async with NodeClient(options) as client:
        await client.until("ack")
        await room_server.emit_events("quotes:FEW", range(1, 2))
        rest = await client.rest()
    assert len(_of(rest, "event")) == 1
    assert _of(rest, "timeout") == [{"type": "timeout", "received": 1}]
    assert rest[-1]["code"] == TIMED_OUT


async def test_a_server_disconnect_ends_the_run(room_server: RoomServer) -> None:
    async with NodeClient(JsClient(room_server.url, "quotes:BYE", token=TOKEN)) as client:
        await client.until("ack")
        (sid,) = room_server.connected
        await room_server.sio.disconnect(sid)
        rest = await client.rest()
    assert _of(rest, "disconnect") == [{"type": "disconnect", "reason": "io server disconnect"}]
    assert rest[-1]["code"] == SERVER_DISCONNECT


async def test_leaving_early_kills_node_and_the_server_sees_the_client_go(
    room_server: RoomServer,
) -> None:
    options = JsClient(room_server.url, "quotes:EARLY", token=TOKEN, count=5)
    lines = js_client_lines(options)
    async for line in lines:
        if line["type"] == "ack":
            break
    assert room_server.connected
    await lines.aclose()

    async def gone() -> bool:
        return not room_server.connected

    await eventually(gone, timeout=30, what="the server to see the node client disconnect")


async def test_cancelling_a_read_in_flight_kills_node(room_server: RoomServer) -> None:
    options = JsClient(room_server.url, "quotes:CANCEL", token=TOKEN, count=5)
    async with NodeClient(options) as client:
        await client.until("ack")
        reading = asyncio.create_task(client.until("event"))
        await asyncio.sleep(0)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
    assert client.process.returncode is not None


async def test_missing_module_says_how_to_provision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEMESH_HOME", str(tmp_path))
    with pytest.raises(InfraError, match=r"socket\.io-client@.* not found .*make provision"):
        node_env()


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"url": "ws://x"}, "url"),
        ({"token": "-"}, "token"),
        ({"since": -1}, "since"),
        ({"count": -1}, "count"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"transport": "carrier-pigeon"}, "transport"),
    ],
)
def test_bad_options_name_the_field(changes: dict[str, Any], field_name: str) -> None:
    base: dict[str, Any] = {"url": "http://127.0.0.1:1", "room": "r"}
    with pytest.raises(ValueError, match=f"^{field_name}:"):
        JsClient(**{**base, **changes})
