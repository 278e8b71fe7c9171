"""A room whose upstream instance drains: two real grpc.aio instances of a scripted
StreamQuotes, each behind the drain interceptor and the real server chain, as MeshServer
chains them; the upstream picks instances in a planned order, as the mesh client would pick
another once the draining one left Consul (which these tests do not run)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import grpc
from google.protobuf.message import Message
from prometheus_client import CollectorRegistry
from trademesh.marketdata.v1 import marketdata_pb2_grpc as pb_grpc

from edge.contracts import MethodContract
from edge.realtime import ROOM_STATUS, RoomTable
from interceptors import ServerInterceptorConfig, server_interceptors
from mesh.server import DrainInterceptor
from tests.conftest import eventually
from tests.unit.edge.realtime.conftest import (
    ALICE,
    ChannelUpstream,
    RecordingEmitter,
    ScriptedQuotes,
    make_hub,
    principal,
)
from tests.unit.services._mesh import Signer


@dataclass
class Instance:
    scripted: ScriptedQuotes
    drain: DrainInterceptor
    upstream: ChannelUpstream


@asynccontextmanager
async def instance(signer: Signer) -> AsyncIterator[Instance]:
    scripted = ScriptedQuotes()  # type: ignore[abstract]  # implements only StreamQuotes
    drain = DrainInterceptor("marketdata")
    chain = server_interceptors(
        ServerInterceptorConfig(
            service_name="marketdata", verifier=signer.verifier(), registry=CollectorRegistry()
        )
    )
    server = grpc.aio.server(interceptors=[drain, *chain])
    pb_grpc.add_MarketDataServiceServicer_to_server(scripted, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Instance(scripted, drain, ChannelUpstream(channel))
    finally:
        await server.stop(1)


class PlannedUpstream(ChannelUpstream):
    """Opens the n-th stream on `plan[n]`, and every later one on the plan's last instance."""

    def __init__(self, plan: Sequence[Instance]) -> None:
        super().__init__(plan[0].upstream.channel)
        self.plan = plan

    def stream(
        self, method: MethodContract, request: Message, *, metadata: Sequence[tuple[str, str]] = ()
    ) -> AsyncIterator[Message]:
        picked = self.plan[min(self.opened, len(self.plan) - 1)]
        self.opened += 1
        return picked.upstream.stream(method, request, metadata=metadata)


async def _until(check: object, what: str) -> None:
    async def probe() -> bool:
        return bool(check())  # type: ignore[operator]

    await eventually(probe, timeout=10, interval=0.02, what=what)


async def test_a_draining_end_reopens_at_once_on_another_instance_unnoticed(
    table: RoomTable, signer: Signer
) -> None:
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(instance(signer))
        b = await stack.enter_async_context(instance(signer))
        emitter = RecordingEmitter()
        # A backoff this long would outlast every wait below: only an immediate reopen passes.
        hub, metrics = make_hub(
            PlannedUpstream([a, b]), emitter, retry_base_seconds=30, retry_cap_seconds=60
        )
        alice = principal(signer, ALICE)
        joining = asyncio.create_task(hub.join("s1", table.resolve("quotes:AAA", alice), alice))
        await _until(lambda: a.scripted.calls, "the stream opened on a")
        a.scripted.push("1")
        joined = await joining

        assert await a.drain.end_streams() == 1

        await _until(lambda: b.scripted.open == 1, "the stream reopened on b")
        b.scripted.push("2")
        await _until(lambda: len(emitter.events("s1")) == 2, "the quote from b")
        assert emitter.seqs("s1") == [joined.seq, joined.seq + 1]
        assert [e["data"]["quote"]["lastPrice"] for e in emitter.events("s1")] == ["1", "2"]
        assert emitter.events("s1", ROOM_STATUS) == []  # members saw only a gap
        assert a.scripted.open == 0
        assert metrics.upstream_retries._value.get() == 1
        await hub.stop()
        await _until(lambda: b.scripted.open == 0, "the stream cancelled at stop")


async def test_when_the_immediate_reopen_fails_too_members_are_told_and_backoff_applies(
    table: RoomTable, signer: Signer
) -> None:
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(instance(signer))
        b = await stack.enter_async_context(instance(signer))
        emitter = RecordingEmitter()
        upstream = PlannedUpstream([a, a, b])  # the reopen lands on the draining instance
        hub, metrics = make_hub(upstream, emitter)
        alice = principal(signer, ALICE)
        joining = asyncio.create_task(hub.join("s1", table.resolve("quotes:AAA", alice), alice))
        await _until(lambda: a.scripted.calls, "the stream opened on a")
        a.scripted.push("1")
        await joining

        await a.drain.end_streams()

        await _until(lambda: b.scripted.open == 1, "the stream reopened on b after a backoff")
        b.scripted.push("2")
        await _until(lambda: len(emitter.events("s1")) == 2, "the quote from b")
        states = [e["state"] for e in emitter.events("s1", ROOM_STATUS)]
        assert states == ["retrying", "live"]
        retrying = emitter.events("s1", ROOM_STATUS)[0]
        assert retrying["attempt"] == 1
        assert retrying["error"]["code"] == grpc.StatusCode.UNAVAILABLE.value[0]
        assert "draining" in retrying["error"]["message"]
        assert len(a.scripted.calls) == 1  # the refused reopen never reached a's handler
        assert upstream.opened == 3
        assert metrics.upstream_retries._value.get() == 2
        await hub.stop()


async def test_a_draining_end_before_the_join_was_accepted_moves_the_join(
    table: RoomTable, signer: Signer
) -> None:
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(instance(signer))
        b = await stack.enter_async_context(instance(signer))
        emitter = RecordingEmitter()
        hub, _ = make_hub(PlannedUpstream([a, b]), emitter, accept_window_seconds=30)
        alice = principal(signer, ALICE)
        joining = asyncio.create_task(hub.join("s1", table.resolve("quotes:AAA", alice), alice))
        await _until(lambda: a.scripted.open == 1, "the stream opened on a")

        await a.drain.end_streams()  # before a wrote anything

        await _until(lambda: b.scripted.open == 1, "the stream reopened on b")
        b.scripted.push("1")
        joined = await asyncio.wait_for(joining, 10)
        assert emitter.seqs("s1") == [joined.seq]
        assert emitter.events("s1", ROOM_STATUS) == []
        await hub.stop()
