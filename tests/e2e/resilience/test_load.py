"""The load driver against a local aiohttp server: it keeps its rate and its bound on requests
in flight, records every answer, stops at its duration bound, and a cancelled run leaves
no request behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
from aiohttp import web

from tests.e2e.resilience._load import (
    Load,
    LoadConfig,
    Sample,
    Target,
    failures,
    recovery_seconds,
    statuses,
)


@dataclass
class Server:
    url: str
    in_flight: int = 0
    most_in_flight: int = 0
    served: int = 0
    cancelled: int = 0
    delay: float = 0.02


@pytest_asyncio.fixture(loop_scope="session")
async def server() -> AsyncIterator[Server]:
    state = Server("")

    async def answer(request: web.Request) -> web.Response:
        state.in_flight += 1
        state.most_in_flight = max(state.most_in_flight, state.in_flight)
        try:
            await asyncio.sleep(state.delay)
        except asyncio.CancelledError:
            state.cancelled += 1
            raise
        finally:
            state.in_flight -= 1
        state.served += 1
        return web.Response(status=int(request.match_info["status"]), text="answer")

    app = web.Application()
    app.router.add_get("/{status}", answer)
    # A handler whose client went away is cancelled: what shows the driver let go.
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


async def test_keeps_its_bounds_and_records_every_answer(server: Server) -> None:
    targets = [Target("ok", f"{server.url}/200"), Target("refused", f"{server.url}/503")]
    load = Load(targets, LoadConfig(rate_per_second=100, max_in_flight=3, max_duration_seconds=1))
    async with load.running():
        await asyncio.sleep(1.5)  # past the duration bound, which ends the sending
    # At most a second's worth at 100/s; 3 in flight of 20 ms each leave room for it.
    assert 30 <= len(load.samples) <= 101, len(load.samples)
    assert server.most_in_flight <= 3
    assert len(load.samples) == server.served
    assert statuses(load.samples)["ok:200"] == (len(load.samples) + 1) // 2
    refused = [s for s in load.samples if s.label == "refused"]
    assert failures(load.samples) == len(refused)
    assert {s.detail for s in refused} == {"answer"}


def test_recovery_is_the_last_failure_after_the_fault() -> None:
    samples = [
        Sample("a", 9.0, 503, 0.1),  # before the fault
        Sample("a", 10.5, 503, 0.1),
        Sample("a", 12.0, 504, 1.0),
        Sample("a", 13.0, 200, 0.1),
    ]
    assert recovery_seconds(samples, 10.0) == 2.0
    assert recovery_seconds(samples, 12.5) == 0.0
    assert failures(samples, 10.0) == 2


async def test_a_cancelled_run_cancels_its_requests(server: Server) -> None:
    server.delay = 60.0  # never answers within the test
    load = Load([Target("hung", f"{server.url}/200")], LoadConfig(rate_per_second=50))

    async def run() -> None:
        async with load.running():
            await asyncio.sleep(60)

    task = asyncio.create_task(run())
    while server.in_flight < 5:
        await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 5)
    assert task.cancelled()

    async def drained() -> None:
        while server.in_flight:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(drained(), 5)
    assert server.served == 0
    assert server.cancelled >= 5
    assert load.samples == []
