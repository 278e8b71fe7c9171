"""An ASGI app served by uvicorn on a free loopback port inside the test's event loop, and a
python-socketio client connected to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import socketio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp


def starlette_app() -> Starlette:
    """The app Socket.IO is mounted beside: one route, to see requests still reach it."""

    async def ping(request: Request) -> PlainTextResponse:
        return PlainTextResponse("pong")

    return Starlette(routes=[Route("/ping", ping)])


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """`app` on 127.0.0.1:<free port>; yields its base URL; stops the server on the way out."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@dataclass
class Client:
    """An AsyncClient with what it received by event name."""

    sio: socketio.AsyncClient = field(
        default_factory=lambda: socketio.AsyncClient(reconnection=False)
    )
    received: dict[str, list[Any]] = field(default_factory=dict)
    refusal: Any = None

    def __post_init__(self) -> None:
        for name in ("event", "room_status", "room_error", "session_revoked"):
            self.sio.on(name, self._recorder(name))
        self.sio.on("connect_error", self._refused)

    def _recorder(self, name: str) -> Any:
        async def record(data: Any) -> None:
            self.received.setdefault(name, []).append(data)

        return record

    async def _refused(self, data: Any = None) -> None:
        self.refusal = data

    async def connect(self, url: str, token: str | None) -> None:
        await self.sio.connect(
            url,
            auth=None if token is None else {"token": token},
            transports=["websocket"],
            wait_timeout=10,
        )

    async def call(self, event: str, data: Any) -> Any:
        return await self.sio.call(event, data, timeout=15)

    def seqs(self, room: str) -> list[int]:
        return [e["seq"] for e in self.received.get("event", []) if e["room"] == room]
