"""The drain interceptor on a real grpc.aio server on loopback, in front of the real server
chain: open streams end with the draining status and its details (not CANCELLED), streams
that ended by themselves and unary calls are untouched, late streams are refused alike, and
nothing stays tracked, even when callers cancel hundreds of streams while the drain runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.rpc import error_details_pb2
from prometheus_client import CollectorRegistry

from interceptors import STANDARD_PUBLIC_METHODS, ServerInterceptorConfig, server_interceptors
from interceptors.errors import status_details
from mesh.errors.draining import DRAINING_DOMAIN, DRAINING_REASON, is_draining
from mesh.observability.metrics import GRPC_CODE_LABELS
from mesh.server import DrainInterceptor, MeshServer, ServerConfig, Servicer, ServiceSpec
from tests.conftest import eventually

SERVICE = "trademesh.test.v1.Drain"
METHODS = ("Hold", "Count", "Flood", "Echo", "Fail", "Slow")
MESSAGE = "probe instance is draining; reopen the stream on another instance"

Context = Any  # grpc.aio.ServicerContext of raw-bytes methods


@dataclass
class Probe:
    """Raw-bytes handlers of every shape grpc.aio takes: async generators, coroutines
    writing through the context, bidi, unary."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    started: int = 0
    finished: int = 0  # handler bodies that unwound, however they ended
    slow_started: asyncio.Event = field(default_factory=asyncio.Event)

    async def hold(self, request: bytes, context: Context) -> AsyncIterator[bytes]:
        self.started += 1
        try:
            yield b"open"
            await self.release.wait()
            yield b"bye"
        finally:
            self.finished += 1

    async def count(self, request: bytes, context: Context) -> None:
        self.started += 1
        try:
            for n in range(int(request)):
                await context.write(str(n).encode())
        finally:
            self.finished += 1

    async def flood(self, request: bytes, context: Context) -> AsyncIterator[bytes]:
        self.started += 1
        try:
            while True:  # a caller that does not read blocks this in flow control
                yield b"x" * 4096
        finally:
            self.finished += 1

    async def echo(self, requests: AsyncIterator[bytes], context: Context) -> None:
        self.started += 1
        try:
            async for request in requests:
                await context.write(request)
        finally:
            self.finished += 1

    async def fail(self, request: bytes, context: Context) -> AsyncIterator[bytes]:
        yield b"open"
        await context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")

    async def slow(self, request: bytes, context: Context) -> bytes:
        self.slow_started.set()
        await self.gate.wait()
        return b"done"

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Hold": grpc.unary_stream_rpc_method_handler(self.hold),
                "Count": grpc.unary_stream_rpc_method_handler(self.count),
                "Flood": grpc.unary_stream_rpc_method_handler(self.flood),
                "Echo": grpc.stream_stream_rpc_method_handler(self.echo),
                "Fail": grpc.unary_stream_rpc_method_handler(self.fail),
                "Slow": grpc.unary_unary_rpc_method_handler(self.slow),
            },
        )


@dataclass
class Served:
    probe: Probe
    drain: DrainInterceptor
    server: grpc.aio.Server
    channel: grpc.aio.Channel
    registry: CollectorRegistry

    def stream(self, method: str, request: bytes = b"") -> Any:
        multicallable: Any = self.channel.unary_stream(f"/{SERVICE}/{method}")
        return multicallable(request)

    def bidi(self) -> Any:
        return self.channel.stream_stream(f"/{SERVICE}/Echo")()

    def unary(self, method: str, request: bytes = b"") -> Any:
        multicallable: Any = self.channel.unary_unary(f"/{SERVICE}/{method}")
        return multicallable(request, timeout=30)

    async def until_open(self, count: int) -> None:
        async def opened() -> bool:
            return self.drain.open_streams == count

        await eventually(opened, timeout=20, interval=0.01, what=f"{count} open streams")

    def handled(self, method: str, code: grpc.StatusCode) -> float:
        labels = {
            "grpc_type": "bidi_stream" if method == "Echo" else "server_stream",
            "grpc_service": SERVICE,
            "grpc_method": method,
            "grpc_code": GRPC_CODE_LABELS[code],
        }
        return self.registry.get_sample_value("grpc_server_handled_total", labels) or 0.0


# One server per test: a drain cannot be undone.
@pytest_asyncio.fixture
async def served() -> AsyncIterator[Served]:
    probe = Probe()
    drain = DrainInterceptor("probe")
    registry = CollectorRegistry()
    config = ServerInterceptorConfig(
        service_name="probe",
        registry=registry,
        public_methods=STANDARD_PUBLIC_METHODS | {f"/{SERVICE}/{m}" for m in METHODS},
    )
    # As MeshServer chains it: the drain interceptor ahead of the standard chain.
    server = grpc.aio.server(interceptors=[drain, *server_interceptors(config)])
    server.add_generic_rpc_handlers((probe.handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Served(probe, drain, server, channel, registry)
    finally:
        probe.release.set()
        probe.gate.set()
        await channel.close()
        await server.stop(1)


async def _failure(call: Any) -> grpc.aio.AioRpcError:
    """Read `call` to its end, which must be a failure."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async with asyncio.timeout(20):
            while await call.read() is not grpc.aio.EOF:
                pass
    return raised.value


def _assert_draining(error: grpc.aio.AioRpcError) -> None:
    assert error.code() == grpc.StatusCode.UNAVAILABLE, error
    assert error.details() == MESSAGE
    assert is_draining(error)
    details = status_details(error)
    info = details.find(error_details_pb2.ErrorInfo)
    assert info is not None and (info.reason, info.domain) == (DRAINING_REASON, DRAINING_DOMAIN)
    retry = details.find(error_details_pb2.RetryInfo)
    assert retry is not None and retry.retry_delay.ToNanoseconds() == 0


async def test_open_streams_end_with_the_draining_status_and_details(served: Served) -> None:
    holds = [served.stream("Hold") for _ in range(3)]
    for call in holds:
        assert await call.read() == b"open"
    flood = served.stream("Flood")  # never read: its handler waits in flow control
    echo = served.bidi()
    await echo.write(b"ping")
    assert await echo.read() == b"ping"
    await served.until_open(5)

    assert await served.drain.end_streams() == 5

    assert served.drain.open_streams == 0
    assert served.probe.finished == 5  # every handler unwound, its finally blocks ran
    for call in [*holds, flood, echo]:
        _assert_draining(await _failure(call))
    # Every layer of the chain saw the status the caller got, not a cancellation.
    assert served.handled("Hold", grpc.StatusCode.UNAVAILABLE) == 3
    assert served.handled("Flood", grpc.StatusCode.UNAVAILABLE) == 1
    assert served.handled("Echo", grpc.StatusCode.UNAVAILABLE) == 1
    assert served.handled("Hold", grpc.StatusCode.CANCELLED) == 0


async def test_streams_that_ended_by_themselves_are_untouched(served: Served) -> None:
    counted = [message async for message in served.stream("Count", b"3")]
    assert counted == [b"0", b"1", b"2"]
    released = served.stream("Hold")
    assert await released.read() == b"open"
    held = served.stream("Hold")
    assert await held.read() == b"open"
    served.probe.release.set()  # both Holds end by themselves...
    assert await released.read() == b"bye"
    assert await released.read() is grpc.aio.EOF
    assert await held.read() == b"bye"
    await served.until_open(0)

    assert await served.drain.end_streams() == 0  # ...so the drain has nothing to end

    assert await released.code() == grpc.StatusCode.OK
    assert await held.read() is grpc.aio.EOF
    assert await held.code() == grpc.StatusCode.OK
    assert served.handled("Hold", grpc.StatusCode.OK) == 2


async def test_streams_opened_after_the_drain_are_refused_alike(served: Served) -> None:
    await served.drain.end_streams()

    _assert_draining(await _failure(served.stream("Hold")))
    echo = served.bidi()
    await echo.done_writing()
    _assert_draining(await _failure(echo))
    assert served.probe.started == 0  # no handler ran
    served.probe.gate.set()
    assert await served.unary("Slow") == b"done"  # unary calls are still served


async def test_a_unary_call_in_flight_at_drain_completes_within_the_grace(
    served: Served,
) -> None:
    hold = served.stream("Hold")
    assert await hold.read() == b"open"
    slow = served.unary("Slow")
    await asyncio.wait_for(served.probe.slow_started.wait(), 10)

    assert await served.drain.end_streams() == 1
    stopping = asyncio.create_task(served.server.stop(20))
    await asyncio.sleep(0.1)  # the server is stopping while the call is still in flight
    assert not slow.done()
    served.probe.gate.set()

    assert await slow == b"done"
    assert await slow.code() == grpc.StatusCode.OK
    await asyncio.wait_for(stopping, 20)
    _assert_draining(await _failure(hold))


async def test_other_unavailable_failures_are_not_draining(served: Served) -> None:
    error = await _failure(served.stream("Fail"))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert not is_draining(error)


async def test_callers_cancelling_hundreds_of_streams_mid_drain_leave_nothing_tracked(
    served: Served,
) -> None:
    calls = [served.stream("Flood" if n % 10 == 0 else "Hold") for n in range(300)]
    for call in calls[1::10]:
        assert await call.read() == b"open"
    await served.until_open(300)

    ending = asyncio.create_task(served.drain.end_streams())
    for call in calls[::2]:  # cancelled by their callers while the drain ends them
        call.cancel()
    assert await asyncio.wait_for(ending, 20) == 300

    assert served.drain.open_streams == 0
    assert served.probe.finished == 300
    for call in calls[1::2]:
        _assert_draining(await _failure(call))
    for call in calls[::2]:
        assert await call.code() == grpc.StatusCode.CANCELLED
    # The server goes on serving, streams refused, unary calls answered.
    _assert_draining(await _failure(served.stream("Hold")))
    served.probe.gate.set()
    assert await served.unary("Slow") == b"done"
    assert served.drain.open_streams == 0


async def test_a_caller_cancelling_before_the_drain_is_not_counted(served: Served) -> None:
    calls = [served.stream("Hold") for _ in range(50)]
    for call in calls:
        assert await call.read() == b"open"
    await served.until_open(50)
    for call in calls[:20]:
        call.cancel()
    await served.until_open(30)

    assert await served.drain.end_streams() == 30
    assert served.drain.open_streams == 0
    assert served.probe.finished == 50


async def test_mesh_server_stop_ends_streams_before_the_grace_and_logs_how_many(
    caplog: pytest.LogCaptureFixture,
) -> None:
    probe = Probe()
    spec = ServiceSpec(
        name="probe",
        servicers=[
            Servicer(
                lambda implementation, server: server.add_generic_rpc_handlers(
                    (implementation.handler(),)
                ),
                probe,
                SERVICE,
            )
        ],
    )
    config = ServerConfig(register=False, plaintext=True, shutdown_delay_seconds=0)
    server = MeshServer(spec, config, registry=CollectorRegistry())
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            streams: Any = channel.unary_stream(f"/{SERVICE}/Hold")
            unary: Any = channel.unary_unary(f"/{SERVICE}/Slow")
            hold = streams(b"")
            assert await hold.read() == b"open"
            slow = unary(b"", timeout=30)
            await asyncio.wait_for(probe.slow_started.wait(), 10)
            with caplog.at_level(logging.INFO, logger="mesh.server.server"):
                stopping = asyncio.create_task(server.stop())
                # The stream ends while the unary call is still being served.
                _assert_draining(await _failure(hold))
                assert not slow.done()
                probe.gate.set()
                assert await slow == b"done"
                await asyncio.wait_for(stopping, 20)
        assert "probe: draining, ended 1 open streams" in caplog.messages
    finally:
        probe.gate.set()
        await server.stop()
