"""Fixtures for the realtime tests: the marketdata service (quotes the test drives) and a
scripted stream servicer, each on a real grpc.aio server behind the real interceptor chain;
an upstream that calls them over a plain channel; and an emitter that records what each
socket would receive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf.message import Message
from trademesh.marketdata.v1 import marketdata_pb2 as pb
from trademesh.marketdata.v1 import marketdata_pb2_grpc as pb_grpc

from edge.contracts import MethodContract, compiled_contracts
from edge.realtime import RealtimeConfig, RealtimeMetrics, RoomHub, RoomTable
from mesh.context import Principal
from services.marketdata import MarketData, MarketDataConfig, Universe, build_marketdata
from tests.unit.services._mesh import Signer, listening, servicer
from tests.unit.services.marketdata.conftest import ManualProvider, instrument

SYMBOLS = ("AAA", "BBB")
ALICE = "5c1d1d56-4c1e-4a4a-9b0e-4c7a3f7b0a01"
BOB = "7e2e2e67-5d2f-4b5b-8c1f-5d8b4a8c1b02"


class ChannelUpstream:
    """`edge.upstream.Upstream.stream` over one plain channel: the mesh client it stands for
    needs Consul, which unit tests do not run."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel
        self.opened = 0

    async def stream(
        self, method: MethodContract, request: Message, *, metadata: Sequence[tuple[str, str]] = ()
    ) -> AsyncIterator[Message]:
        self.opened += 1
        call = self.channel.unary_stream(
            method.full_method,
            request_serializer=method.request_class.SerializeToString,
            response_deserializer=method.response_class.FromString,
        )(request, metadata=tuple(metadata))
        try:
            async for message in call:
                yield message
        finally:
            call.cancel()


@dataclass
class RecordingEmitter:
    """Socket.IO's emit/enter_room/leave_room as the hub uses them: what each sid receives."""

    members: dict[str, set[str]] = field(default_factory=dict)  # room → sids
    inbox: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)  # sid → events
    room_emits: list[tuple[str, str]] = field(default_factory=list)  # (event, room)

    async def emit(
        self, event: str, data: Any = None, *, to: str | None = None, room: str | None = None
    ) -> None:
        if to is not None:
            self.inbox.setdefault(to, []).append((event, data))
        if room is not None:
            self.room_emits.append((event, room))
            for sid in self.members.get(room, ()):
                self.inbox.setdefault(sid, []).append((event, data))

    async def enter_room(self, sid: str, room: str) -> None:
        self.members.setdefault(room, set()).add(sid)

    async def leave_room(self, sid: str, room: str) -> None:
        self.members.get(room, set()).discard(sid)

    def events(self, sid: str, name: str = "event") -> list[Any]:
        return [data for event, data in self.inbox.get(sid, []) if event == name]

    def seqs(self, sid: str) -> list[int]:
        return [data["seq"] for data in self.events(sid)]


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


def principal(signer: Signer, user_id: str = ALICE, *roles: str) -> Principal:
    session = f"session-{user_id[:8]}"
    token = signer.access(user_id, roles or ("viewer",), session_id=session)
    return Principal(user_id, session, frozenset(roles or ("viewer",)), token)


@pytest.fixture
def table() -> RoomTable:
    return RoomTable.build(compiled_contracts())


@pytest.fixture
def provider() -> ManualProvider:
    return ManualProvider(SYMBOLS)


@pytest_asyncio.fixture
async def marketdata(provider: ManualProvider) -> AsyncIterator[MarketData]:
    config = MarketDataConfig(tick_interval_seconds=0.05, publish_quotes=False)
    universe = Universe(instrument(symbol) for symbol in SYMBOLS)
    async with await build_marketdata(config, provider=provider, universe=universe) as built:
        await asyncio.wait_for(provider.running.wait(), 5)
        yield built


class ScriptedQuotes(pb_grpc.MarketDataServiceServicer):
    """StreamQuotes whose calls the test drives: each call gets a queue; a message in it is
    written, an exception raised (an abort), None ends the stream."""

    def __init__(self) -> None:
        self.calls: list[asyncio.Queue[Any]] = []
        self.ended = 0

    async def StreamQuotes(  # type: ignore[override]
        self, request: pb.StreamQuotesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self.calls.append(queue)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                if isinstance(item, tuple):
                    await context.abort(*item)
                await context.write(item)
        finally:
            self.ended += 1

    @property
    def open(self) -> int:
        return len(self.calls) - self.ended

    def push(self, price: str, call: int = -1) -> None:
        quote = pb.Quote(symbol="AAA", last_price=price)
        self.calls[call].put_nowait(pb.StreamQuotesResponse(quote=quote))

    def fail(self, code: grpc.StatusCode, details: str, call: int = -1) -> None:
        self.calls[call].put_nowait((code, details))


@dataclass
class Served:
    channel: grpc.aio.Channel
    upstream: ChannelUpstream


@pytest_asyncio.fixture
async def quotes_server(marketdata: MarketData, signer: Signer) -> AsyncIterator[Served]:
    async with (
        listening(
            marketdata.service_spec().servicers,
            service_name="marketdata",
            verifier=signer.verifier(),
            grace=1.0,
        ) as server,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        yield Served(channel, ChannelUpstream(channel))


@pytest.fixture
def scripted() -> ScriptedQuotes:
    return ScriptedQuotes()  # type: ignore[abstract]  # implements only StreamQuotes


@pytest_asyncio.fixture
async def scripted_server(scripted: ScriptedQuotes, signer: Signer) -> AsyncIterator[Served]:
    async with (
        listening(
            [servicer(pb_grpc.add_MarketDataServiceServicer_to_server, scripted)],
            service_name="marketdata",
            verifier=signer.verifier(),
            grace=1.0,
        ) as server,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        yield Served(channel, ChannelUpstream(channel))


def make_hub(
    upstream: ChannelUpstream, emitter: RecordingEmitter, **config: Any
) -> tuple[RoomHub, RealtimeMetrics]:
    metrics = RealtimeMetrics()
    settings = {"accept_window_seconds": 2.0, "retry_base_seconds": 0.05, **config}
    return RoomHub(upstream, emitter, RealtimeConfig(**settings), metrics), metrics
