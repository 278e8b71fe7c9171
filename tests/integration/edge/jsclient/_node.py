"""Runs client.mjs (the official JavaScript socket.io-client under node) and yields its JSON lines.

    async with NodeClient(JsClient(url, room="quotes:ACME", token=token, count=3)) as client:
        ack = await client.until("ack")
        ...                                   # make the events happen
        lines = await client.rest()           # every further line, the last one {"type": "exit"}

or `async for line in js_client_lines(options)`. Leaving the `async with` (or closing the
generator) early kills node at once. Each read is bounded by the client's own timeout plus a
grace for node's start-up, so a stuck client fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from mesh.infra.errors import InfraError
from mesh.infra.provision.node_packages import SOCKET_IO_CLIENT, installed_node_modules

SCRIPT = Path(__file__).with_name("client.mjs")
TRANSPORTS = ("websocket", "polling")
START_GRACE_SECONDS = 10.0

# client.mjs's exit codes.
DONE, TIMED_OUT, REFUSED, SERVER_DISCONNECT, SUBSCRIBE_REFUSED, USAGE = 0, 1, 2, 3, 4, 64


class JsClientError(RuntimeError):
    """node misbehaved: bad output, no exit line, or no line within the bound."""


@dataclass(frozen=True)
class JsClient:
    """One run of client.mjs: connect to `url`, subscribe to `room`, await `count` events."""

    url: str
    room: str
    token: str | None = None
    since: int | None = None
    count: int = 1
    timeout_seconds: float = 10.0
    transport: str = "websocket"

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url: expected http(s)://host:port, got {self.url!r}")
        if self.token == "-":
            raise ValueError("token: '-' means no token to client.mjs; pass None instead")
        if self.since is not None and self.since < 0:
            raise ValueError(f"since: must be >= 0, got {self.since}")
        if self.count < 0:
            raise ValueError(f"count: must be >= 0, got {self.count}")
        if self.timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds: must be > 0, got {self.timeout_seconds}")
        if self.transport not in TRANSPORTS:
            raise ValueError(f"transport: one of {TRANSPORTS}, got {self.transport!r}")

    def args(self) -> list[str]:
        return [
            self.url,
            "-" if self.token is None else self.token,
            self.room,
            "-" if self.since is None else str(self.since),
            str(self.count),
            str(round(self.timeout_seconds * 1000)),
            self.transport,
        ]


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise InfraError("node not found on PATH; install Node.js to run the JS Socket.IO client")
    return node


def node_env() -> dict[str, str]:
    return {**os.environ, "NODE_PATH": str(installed_node_modules(SOCKET_IO_CLIENT))}


class NodeClient:
    """client.mjs as a subprocess: iterate its parsed lines; the last is {"type": "exit"}."""

    def __init__(self, options: JsClient) -> None:
        self.options = options
        self.lines: list[dict[str, Any]] = []
        self._process: asyncio.subprocess.Process | None = None
        self._stderr = bytearray()
        self._stderr_task: asyncio.Task[None] | None = None
        self._deadline = 0.0
        self._exited = False

    @property
    def process(self) -> asyncio.subprocess.Process:
        if self._process is None:
            raise JsClientError("the node client was not started (use `async with`)")
        return self._process

    async def __aenter__(self) -> NodeClient:
        self._process = await asyncio.create_subprocess_exec(
            node_binary(),
            str(SCRIPT),
            *self.options.args(),
            env=node_env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + self.options.timeout_seconds + START_GRACE_SECONDS
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Kill node if it still runs; safe to call twice."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        if self._stderr_task is not None:
            self._stderr_task.cancel()
            await asyncio.gather(self._stderr_task, return_exceptions=True)

    async def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        while chunk := await self.process.stderr.read(4096):
            self._stderr.extend(chunk)

    def _fail(self, why: str) -> JsClientError:
        tail = self._stderr.decode(errors="replace").strip()[-2000:]
        return JsClientError(f"{why}\n  lines so far: {self.lines}\n  stderr: {tail or '(empty)'}")

    def __aiter__(self) -> NodeClient:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._exited:
            raise StopAsyncIteration
        assert self.process.stdout is not None
        remaining = self._deadline - asyncio.get_running_loop().time()
        try:
            raw = await asyncio.wait_for(self.process.stdout.readline(), max(remaining, 0.0))
        except TimeoutError:
            raise self._fail("the node client printed nothing before its deadline") from None
        if not raw:
            code = await self.process.wait()
            raise self._fail(f"node exited with code {code} without an exit line")
        try:
            line: dict[str, Any] = json.loads(raw)
        except json.JSONDecodeError:
            raise self._fail(f"not a JSON line: {raw!r}") from None
        self.lines.append(line)
        if line.get("type") == "exit":
            self._exited = True
            code = await asyncio.wait_for(self.process.wait(), START_GRACE_SECONDS)
            if code != line.get("code"):
                raise self._fail(f"node exited with {code}, its exit line says {line}")
        return line

    async def until(self, kind: str) -> dict[str, Any]:
        """Read up to and including the next line of type `kind`."""
        async for line in self:
            if line.get("type") == kind:
                return line
        raise self._fail(f"the client exited before printing a {kind!r} line")

    async def rest(self) -> list[dict[str, Any]]:
        """Every remaining line, through the exit line."""
        return [line async for line in self]


async def js_client_lines(options: JsClient) -> AsyncGenerator[dict[str, Any], None]:
    """Yield each line of one run; closing the generator early kills node."""
    async with NodeClient(options) as client:
        async for line in client:
            yield line


async def run_js_client(options: JsClient) -> list[dict[str, Any]]:
    """Run to the end; every line, the last one {"type": "exit", "code": ..., "reason": ...}."""
    async with NodeClient(options) as client:
        return await client.rest()
