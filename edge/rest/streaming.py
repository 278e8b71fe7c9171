"""A server stream over HTTP: Server-Sent Events for clients that accept text/event-stream,
newline-delimited JSON otherwise. An error before anything was sent is an ordinary error
answer; after that it is an explicit final error frame. A stream ended by a draining instance
is reopened on another at once, so a rolling restart is no error to the client. A client that
disconnects cancels the upstream call at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc
from google.protobuf.message import Message
from google.rpc import status_pb2
from starlette.types import Receive, Scope, Send

from edge.codec import codec_for
from edge.errors import log_if_server_fault, status_from_rpc_error, status_json
from edge.http.responses import error_response
from edge.rest.routes import Route
from edge.upstream import Upstream
from mesh.errors.draining import is_draining

SSE = "text/event-stream"
NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class StreamSettings:
    # How long to wait for the first message (or an early refusal) before answering 200:
    # a refusal in that time is a real 401/403/404, not an error frame inside a 200.
    open_wait_seconds: float = 1.0
    # SSE comment lines keep idle connections alive through proxies.
    keepalive_seconds: float = 15.0


@dataclass(frozen=True)
class _Framing:
    media_type: str
    message: Callable[[bytes, int], bytes]
    error: Callable[[bytes], bytes]
    keepalive: bytes | None


def _sse_message(data: bytes, seq: int) -> bytes:
    return b"id: %d\nevent: message\ndata: %s\n\n" % (seq, data)


def _sse_error(data: bytes) -> bytes:
    return b"event: error\ndata: %s\n\n" % data


def _ndjson_message(data: bytes, seq: int) -> bytes:
    return data + b"\n"


def _ndjson_error(data: bytes) -> bytes:
    return b'{"error":%s}\n' % data


# Framing by negotiated media type (the first the client accepts, NDJSON when it names none).
_FRAMINGS: dict[str, _Framing] = {
    SSE: _Framing(SSE, _sse_message, _sse_error, b": keepalive\n\n"),
    NDJSON: _Framing(NDJSON, _ndjson_message, _ndjson_error, None),
}


def negotiate(accept: str) -> _Framing:
    return _FRAMINGS[SSE] if SSE in accept else _FRAMINGS[NDJSON]


async def stream_response(
    upstream: Upstream,
    route: Route,
    request: Message,
    accept: str,
    settings: StreamSettings,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    """Relay `route`'s server stream to the client until either side ends it. The upstream
    generator lives in a task of its own (the pump), so closing it never races a read."""
    framing = negotiate(accept)
    encode = codec_for(route.method.output).encode
    queue: asyncio.Queue[Message | grpc.aio.AioRpcError | None] = asyncio.Queue(_QUEUE_SIZE)
    pump = asyncio.create_task(_pump(lambda: upstream.stream(route.method, request), queue))
    relay = asyncio.create_task(
        _relay(queue, encode, framing, settings, scope, receive, send, route)
    )
    watcher = asyncio.create_task(_disconnected(receive))
    try:
        await asyncio.wait({relay, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (watcher, relay, pump):
            task.cancel()
        for task in (watcher, relay, pump):
            with contextlib.suppress(asyncio.CancelledError):
                await task
    failure = relay.exception() if relay.done() and not relay.cancelled() else None
    if failure is not None:
        raise failure


# Messages read ahead of a slow client; beyond it the pump waits, and so does the upstream.
_QUEUE_SIZE = 64


# Reopens after a drain with no message in between: a mesh whose every instance drains at
# once is not worked around forever.
_DRAIN_REOPENS = 3


async def _pump(
    open_stream: Callable[[], AsyncIterator[Message]],
    queue: asyncio.Queue[Message | grpc.aio.AioRpcError | None],
) -> None:
    """Every message of the upstream stream, then None at its end or the failure."""
    reopens = 0
    while True:
        async with contextlib.aclosing(open_stream()) as stream:  # type: ignore[type-var]
            try:
                async for message in stream:
                    reopens = 0
                    await queue.put(message)
            except grpc.aio.AioRpcError as failure:
                if is_draining(failure) and reopens < _DRAIN_REOPENS:
                    reopens += 1
                    continue
                await queue.put(failure)
                return
        await queue.put(None)
        return


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _relay(
    queue: asyncio.Queue[Message | grpc.aio.AioRpcError | None],
    encode: Callable[[Message], bytes],
    framing: _Framing,
    settings: StreamSettings,
    scope: Scope,
    receive: Receive,
    send: Send,
    route: Route,
) -> None:
    started = False

    async def start() -> None:
        nonlocal started
        if not started:
            started = True
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", framing.media_type.encode()),
                        (b"cache-control", b"no-store"),
                        (b"x-accel-buffering", b"no"),  # nginx: pass frames on at once
                    ],
                }
            )

    async def chunk(data: bytes) -> None:
        await send({"type": "http.response.body", "body": data, "more_body": True})

    seq = 0
    wait = settings.open_wait_seconds
    while True:
        try:
            item = await asyncio.wait_for(queue.get(), wait)
        except TimeoutError:  # nothing yet: open the answer, then keep the line alive
            if started and framing.keepalive is not None:
                await chunk(framing.keepalive)
            await start()
            wait = settings.keepalive_seconds
            continue
        if item is None:
            break
        if isinstance(item, grpc.aio.AioRpcError):
            status = status_from_rpc_error(item)
            log_if_server_fault(status, f"{route.http_method} {route.template.text}")
            if not started:
                await error_response(status)(scope, receive, send)
                return
            await chunk(framing.error(_json(status)))
            break
        await start()
        seq += 1
        await chunk(framing.message(encode(item), seq))
        wait = settings.keepalive_seconds
    await start()
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _json(status: status_pb2.Status) -> bytes:
    return json.dumps(status_json(status), separators=(",", ":")).encode()
