"""The marketdata service as it runs in production: `python -m services.marketdata` in its own
process next to a real identity process, mTLS, registered in the real Consul, publishing to
the real Kafka, called through the mesh client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import socket
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from trademesh.identity.v1 import identity_pb2, identity_pb2_grpc
from trademesh.marketdata.v1 import events_pb2
from trademesh.marketdata.v1 import marketdata_pb2 as pb
from trademesh.marketdata.v1 import marketdata_pb2_grpc as pb_grpc

from mesh.client import ClientConfig, MeshClient
from mesh.discovery import ConsulClient
from mesh.events import QUOTES
from mesh.infra import Consul, Kafka
from mesh.tls import TlsConfig, channel_options, load_service_credentials
from tests.conftest import eventually
from tests.integration.services._process import (
    ServiceProcess,
    grpcurl,
    launch,
    run_to_exit,
    running_service,
)

ADMIN = ("root@marketdata.test", "admin password of some length")
SYMBOLS = ("AAPL", "BRK.B", "MSFT", "SPY")
TICK_SECONDS = "0.1"
# Short, so that a stream outliving it is quick to show.
UNARY_DEFAULT_DEADLINE_SECONDS = 1.0


@dataclass
class Stack:
    identity: ServiceProcess
    marketdata: ServiceProcess
    mesh: MeshClient
    token: str
    tls_dir: Path

    def auth(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)

    async def stub(self) -> Any:
        channel: Any = await self.mesh.connect("marketdata")
        return pb_grpc.MarketDataServiceStub(channel)


def marketdata_env(kafka: Kafka, **extra: str) -> dict[str, str]:
    return {
        "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": kafka.address,
        "TRADEMESH_MARKETDATA_TICK_INTERVAL_SECONDS": TICK_SECONDS,
        "TRADEMESH_MARKETDATA_SYMBOLS": ",".join(SYMBOLS),
        **extra,
    }


@pytest_asyncio.fixture(scope="module")
async def stack(
    consul: Consul, kafka: Kafka, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    workdir = tmp_path_factory.mktemp("marketdata-process")
    identity_env = {
        "TRADEMESH_IDENTITY_SQLITE_PATH": str(workdir / "identity.db"),
        "TRADEMESH_IDENTITY_ADMIN_EMAIL": ADMIN[0],
        "TRADEMESH_IDENTITY_ADMIN_PASSWORD": ADMIN[1],
        "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": kafka.address,
    }
    async with (
        running_service("identity", consul, workdir, identity_env) as identity,
        running_service("marketdata", consul, workdir, marketdata_env(kafka)) as marketdata,
    ):
        tls_dir = consul.state_dir / "tls"
        credentials = load_service_credentials(TlsConfig(tls_dir), "edge")
        config = ClientConfig(
            consul_address=consul.address, default_timeout_seconds=UNARY_DEFAULT_DEADLINE_SECONDS
        )
        async with MeshClient(config, credentials=credentials) as mesh:
            channel: Any = await mesh.connect("identity")
            login = await identity_pb2_grpc.IdentityServiceStub(channel).Login(
                identity_pb2.LoginRequest(email=ADMIN[0], password=ADMIN[1]), timeout=30
            )
            yield Stack(identity, marketdata, mesh, login.tokens.access_token, tls_dir)


async def _refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


async def test_instruments_and_quotes_over_mtls_with_a_token_identity_signed(
    stack: Stack,
) -> None:
    stub = await stack.stub()
    instrument = await stub.GetInstrument(
        pb.GetInstrumentRequest(symbol="BRK.B"), metadata=stack.auth()
    )
    assert instrument.instrument.name == "Berkshire Hathaway Inc. Class B"
    quotes = await stub.GetQuotes(
        pb.GetQuotesRequest(symbols=["SPY", "AAPL"]), metadata=stack.auth()
    )
    assert [q.symbol for q in quotes.quotes] == ["SPY", "AAPL"]
    found = await stub.SearchInstruments(
        pb.SearchInstrumentsRequest(query="microsoft"), metadata=stack.auth()
    )
    assert [i.symbol for i in found.instruments] == ["MSFT"]
    # The universe is narrowed to the configured symbols.
    error = await _refused(stub.GetQuote(pb.GetQuoteRequest(symbol="NVDA"), metadata=stack.auth()))
    assert error.code() == grpc.StatusCode.NOT_FOUND and "NVDA" in (error.details() or "")
    error = await _refused(stub.GetQuote(pb.GetQuoteRequest(symbol="AAPL")))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_quotes_move_on_the_configured_tick(stack: Stack) -> None:
    stub = await stack.stub()
    first = await stub.GetQuote(pb.GetQuoteRequest(symbol="AAPL"), metadata=stack.auth())

    async def moved() -> bool:
        now = await stub.GetQuote(pb.GetQuoteRequest(symbol="AAPL"), metadata=stack.auth())
        return bool(now.quote.quote_time.ToNanoseconds() > first.quote.quote_time.ToNanoseconds())

    await eventually(moved, timeout=30, interval=0.05, what="a newer AAPL quote")


async def test_a_stream_outlives_the_unary_default_deadline(stack: Stack) -> None:
    stub = await stack.stub()
    call = stub.StreamQuotes(pb.StreamQuotesRequest(symbols=["AAPL", "SPY"]), metadata=stack.auth())
    loop = asyncio.get_running_loop()
    started = loop.time()
    received = 0
    async with asyncio.timeout(60):
        # Read past three times the default deadline a unary call would get.
        while loop.time() - started < 3 * UNARY_DEFAULT_DEADLINE_SECONDS:
            message = await call.read()
            assert message.quote.symbol in {"AAPL", "SPY"}
            received += 1
    assert received > 2  # the two current quotes, then updates
    call.cancel()
    # A unary call with the same client still works within its default deadline.
    await stub.GetQuote(pb.GetQuoteRequest(symbol="SPY"), metadata=stack.auth())


async def test_hundreds_of_vanishing_stream_callers_leave_the_process_serving(
    stack: Stack,
) -> None:
    await stack.stub()
    (instance,) = stack.mesh.instances("marketdata")
    credentials = load_service_credentials(TlsConfig(stack.tls_dir), "edge")
    for _ in range(2):
        channel = grpc.aio.secure_channel(
            instance.address,
            credentials.channel_credentials(),
            options=channel_options("marketdata"),
        )
        stub = pb_grpc.MarketDataServiceStub(channel)
        calls = [
            stub.StreamQuotes(
                pb.StreamQuotesRequest(symbols=list(SYMBOLS)),
                metadata=stack.auth(),
                timeout=None if i % 2 else 0.001 * (i % 40 + 1),
            )
            for i in range(200)
        ]
        for call in calls[1:50:2]:
            await call.read()
        for call in calls[51:100:2]:
            call.cancel()
        await channel.close()  # with the rest still streaming
    assert stack.marketdata.proc.returncode is None, stack.marketdata.log()
    stub = await stack.stub()
    call = stub.StreamQuotes(pb.StreamQuotesRequest(symbols=["MSFT"]), metadata=stack.auth())
    assert (await call.read()).quote.symbol == "MSFT"
    assert (await call.read()).quote.symbol == "MSFT"  # an update, not just the snapshot
    call.cancel()
    assert "Segmentation fault" not in stack.marketdata.log()


async def test_quote_updates_reach_kafka_keyed_by_symbol(stack: Stack, kafka: Kafka) -> None:
    consumer = AIOKafkaConsumer(
        QUOTES.name,
        bootstrap_servers=kafka.address,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: dict[str, events_pb2.QuoteUpdated] = {}
    try:
        async with asyncio.timeout(60):
            while set(SYMBOLS) - set(seen):
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    for record in records:
                        event = events_pb2.QuoteUpdated.FromString(record.value)
                        assert record.key is not None
                        assert record.key.decode() == event.quote.symbol
                        headers = {k: v.decode() for k, v in record.headers}
                        assert headers["ce_type"] == "trademesh.marketdata.v1.QuoteUpdated"
                        assert headers["ce_id"] == event.event_id
                        ours = event.quote.symbol in SYMBOLS  # other suites quote others
                        if ours and headers.get("ce_source", "").endswith("marketdata"):
                            seen[event.quote.symbol] = event
    finally:
        await consumer.stop()
    assert set(seen) == set(SYMBOLS)
    for symbol, event in seen.items():
        assert event.quote.last_price and event.correlation_id
        assert symbol in SYMBOLS


async def test_metrics_show_streams_and_published_quotes(stack: Stack) -> None:
    stub = await stack.stub()
    (instance,) = stack.mesh.instances("marketdata")
    url = f"http://127.0.0.1:{instance.meta['metrics_port']}/metrics"

    async def sample(name: str) -> float:
        async with httpx.AsyncClient() as http:
            text = (await http.get(url)).text
        found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else -1.0

    call = stub.StreamQuotes(pb.StreamQuotesRequest(symbols=["SPY"]), metadata=stack.auth())
    await call.read()
    await eventually(
        lambda: _at_least(sample("marketdata_stream_subscribers"), 1), what="a subscriber"
    )
    call.cancel()
    await eventually(
        lambda: _at_least(sample("marketdata_quotes_published_total"), 1), what="published quotes"
    )
    assert await sample("marketdata_feed_batches_total") > 0


async def _at_least(value: Awaitable[float], minimum: float) -> bool:
    return await value >= minimum


async def test_grpcurl_describes_and_calls_the_batch_quote_over_mtls(stack: Stack) -> None:
    await stack.stub()
    (instance,) = stack.mesh.instances("marketdata")
    tls = TlsConfig(stack.tls_dir)

    async def call(*args: str) -> str:
        code, output = await grpcurl(tls, "marketdata", *args)
        assert code == 0, output
        return output

    service = "trademesh.marketdata.v1.MarketDataService"
    described = await call(instance.address, "describe", service)
    assert "rpc GetQuotes ( .trademesh.marketdata.v1.GetQuotesRequest )" in described
    assert 'get: "/api/v1/stocks/quotes"' in described
    body = json.dumps({"symbols": ["MSFT", "AAPL"]})
    answer = json.loads(
        await call(
            "-H",
            f"authorization: Bearer {stack.token}",
            "-d",
            body,
            instance.address,
            f"{service}/GetQuotes",
        )
    )
    assert [q["symbol"] for q in answer["quotes"]] == ["MSFT", "AAPL"]
    assert all(isinstance(q["last_price"], str) for q in answer["quotes"])


async def test_sigterm_ends_open_streams_deregisters_and_exits_cleanly(
    consul: Consul, kafka: Kafka, stack: Stack, tmp_path: Path
) -> None:
    process = await launch("marketdata", consul, tmp_path, marketdata_env(kafka))
    try:
        async with ConsulClient(consul.address) as client:
            _, instances = await client.healthy("marketdata")
        (instance,) = [i for i in instances if i.meta.get("pid") == str(process.pid)]
        credentials = load_service_credentials(TlsConfig(stack.tls_dir), "edge")
        async with grpc.aio.secure_channel(
            instance.address,
            credentials.channel_credentials(),
            options=channel_options("marketdata"),
        ) as channel:
            stub = pb_grpc.MarketDataServiceStub(channel)
            call = stub.StreamQuotes(
                pb.StreamQuotesRequest(symbols=["AAPL"]), metadata=stack.auth()
            )
            await call.read()
            assert await process.stop(signal.SIGTERM) == 0, process.log()
            # The open stream ends (at the latest when the drain's grace period runs out).
            with contextlib.suppress(grpc.aio.AioRpcError):
                while await call.read() is not grpc.aio.EOF:
                    pass
            assert await call.code() != grpc.StatusCode.OK
        async with ConsulClient(consul.address) as client:
            assert await client.check_status(instance.instance_id) is None
    finally:
        if process.proc.returncode is None:
            await process.stop(signal.SIGKILL)


async def test_with_kafka_unreachable_the_feed_and_streams_go_on(
    consul: Consul, stack: Stack, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        nowhere = f"127.0.0.1:{probe.getsockname()[1]}"
    env = {
        "TRADEMESH_EVENTS_BOOTSTRAP_SERVERS": nowhere,
        "TRADEMESH_EVENTS_REQUEST_TIMEOUT_SECONDS": "2",
        "TRADEMESH_MARKETDATA_TICK_INTERVAL_SECONDS": TICK_SECONDS,
        "TRADEMESH_MARKETDATA_SYMBOLS": "AAPL",
    }
    process = await launch("marketdata", consul, tmp_path, env)
    try:
        async with ConsulClient(consul.address) as client:
            _, instances = await client.healthy("marketdata")
        (instance,) = [i for i in instances if i.meta.get("pid") == str(process.pid)]
        credentials = load_service_credentials(TlsConfig(stack.tls_dir), "edge")
        async with grpc.aio.secure_channel(
            instance.address,
            credentials.channel_credentials(),
            options=channel_options("marketdata"),
        ) as channel:
            stub = pb_grpc.MarketDataServiceStub(channel)
            call = stub.StreamQuotes(
                pb.StreamQuotesRequest(symbols=["AAPL"]), metadata=stack.auth()
            )
            times = [(await call.read()).quote.quote_time.ToNanoseconds() for _ in range(20)]
            assert times == sorted(times) and len(set(times)) == 20  # ticking on
            call.cancel()

        async def complained() -> bool:
            return "publishing" in process.log() and "marketdata.quotes.v1 failed" in process.log()

        await eventually(complained, what="a logged publish failure")
    finally:
        await process.stop()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TRADEMESH_MARKETDATA_TICK_INTERVAL_SECONDS", "0"),
        ("TRADEMESH_MARKETDATA_SYMBOLS", "AAPL,NOPE"),
        ("TRADEMESH_MARKETDATA_SEED", "lucky"),
    ],
)
async def test_bad_configuration_stops_start_up_naming_the_key(
    consul: Consul, kafka: Kafka, tmp_path: Path, key: str, value: str
) -> None:
    exited = await run_to_exit("marketdata", consul, {**marketdata_env(kafka), key: value})
    assert exited.code == 2, exited.output
    assert key in exited.output
