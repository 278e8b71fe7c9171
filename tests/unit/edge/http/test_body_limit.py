"""Bodies over the limit: 413 with a google.rpc.Status, from Content-Length up front or while
a chunked body streams in, never reading past the limit; vanished clients leave nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from edge.http.body_limit import BodyLimitMiddleware, BodyTooLarge

LIMIT = 1000


class Upload:
    """An endpoint that reads the whole body, remembering how far it got."""

    def __init__(self) -> None:
        self.calls = 0
        self.read = 0

    async def handle(self, request: Request) -> Response:
        self.calls += 1
        async for chunk in request.stream():
            self.read += len(chunk)
        return JSONResponse({"read": self.read})


async def _swallows(request: Request) -> Response:
    try:
        await request.body()
    except Exception:  # a handler that turns every failure into its own 500
        return PlainTextResponse("internal", status_code=500)
    return PlainTextResponse("ok")


def _client(upload: Upload) -> httpx.AsyncClient:
    app = Starlette(
        routes=[
            Route("/upload", upload.handle, methods=["POST"]),
            Route("/swallows", _swallows, methods=["POST"]),
        ]
    )
    transport = httpx.ASGITransport(app=BodyLimitMiddleware(app, LIMIT))
    return httpx.AsyncClient(transport=transport, base_url="http://edge")


def _assert_413(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert body["message"] == f"request body exceeds the limit of {LIMIT} bytes"
    reasons = [d.get("reason") for d in body["details"]]
    assert "BODY_TOO_LARGE" in reasons


async def test_a_body_within_the_limit_reaches_the_app() -> None:
    upload = Upload()
    async with _client(upload) as client:
        response = await client.post("/upload", content=b"x" * LIMIT)
    assert response.status_code == 200
    assert response.json() == {"read": LIMIT}


async def test_a_declared_length_over_the_limit_is_refused_before_the_app_runs() -> None:
    upload = Upload()
    async with _client(upload) as client:
        response = await client.post("/upload", content=b"x" * (LIMIT + 1))
    _assert_413(response)
    assert upload.calls == 0


async def _chunks(count: int, size: int) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield b"y" * size


async def test_a_chunked_body_is_cut_off_once_it_passes_the_limit() -> None:
    upload = Upload()
    async with _client(upload) as client:
        response = await client.post("/upload", content=_chunks(50, 300))
    _assert_413(response)
    assert upload.calls == 1
    assert upload.read <= LIMIT  # the chunk that crossed the limit never reached the app


async def test_a_chunked_body_within_the_limit_reaches_the_app() -> None:
    upload = Upload()
    async with _client(upload) as client:
        response = await client.post("/upload", content=_chunks(4, 250))
    assert response.json() == {"read": LIMIT}


async def test_a_handler_that_swallows_the_error_still_answers_413() -> None:
    async with _client(Upload()) as client:
        response = await client.post("/swallows", content=_chunks(10, 300))
    _assert_413(response)


async def test_an_error_after_the_app_answered_is_not_hidden() -> None:
    async def early_answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive()).get("more_body"):
            pass

    sent: list[Message] = []
    chunks = iter([b"z" * 600, b"z" * 600])

    async def receive() -> Message:
        return {"type": "http.request", "body": next(chunks), "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    with pytest.raises(BodyTooLarge):
        await BodyLimitMiddleware(early_answer, LIMIT)(scope, receive, send)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [200]


async def test_a_client_that_disconnects_mid_body_leaves_nothing_running() -> None:
    finished = asyncio.Event()
    outcome: list[str] = []

    async def reader(request: Request) -> Response:
        try:
            await request.body()
        except ClientDisconnect:
            outcome.append("disconnect seen")
            raise
        finally:
            finished.set()
        return PlainTextResponse("unreachable")

    app = BodyLimitMiddleware(Starlette(routes=[Route("/", reader, methods=["POST"])]), LIMIT)
    messages: list[Message] = [
        {"type": "http.request", "body": b"a" * 400, "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"transfer-encoding", b"chunked")],
        "query_string": b"",
    }
    with pytest.raises(ClientDisconnect):
        await asyncio.wait_for(app(scope, receive, send), timeout=30)
    assert finished.is_set() and outcome == ["disconnect seen"]
    assert not any(m["type"] == "http.response.start" and m["status"] == 413 for m in sent)


async def test_cancelling_a_request_waiting_for_its_body_leaves_nothing_running() -> None:
    waiting = asyncio.Event()
    finished = asyncio.Event()

    async def reader(request: Request) -> Response:
        try:
            await request.body()
        finally:
            finished.set()
        return PlainTextResponse("unreachable")

    app = BodyLimitMiddleware(Starlette(routes=[Route("/", reader, methods=["POST"])]), LIMIT)
    first = True

    async def receive() -> Message:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"a" * 10, "more_body": True}
        waiting.set()
        await asyncio.Event().wait()  # the client stalls mid-body
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        raise AssertionError(f"nothing is answered to a cancelled request: {message}")

    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"transfer-encoding", b"chunked")],
        "query_string": b"",
    }
    before = asyncio.all_tasks()
    task = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(waiting.wait(), timeout=30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished.is_set()
    assert asyncio.all_tasks() == before


def test_a_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_body_bytes"):
        BodyLimitMiddleware(Starlette(), 0)
