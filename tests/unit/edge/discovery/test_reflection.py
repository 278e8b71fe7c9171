"""Reading a service's contracts over server reflection, against real grpc.aio servers."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import descriptor_pb2

from edge.contracts import Contracts
from edge.discovery.reflection import ReflectionError, fetch
from mesh.options import AccessRule
from tests.unit.edge.discovery._probe import (
    FILENAME,
    GET_PROBE,
    LIST_PROBES,
    SERVICE,
    V1,
    V1ALPHA,
    SilentReflection,
    StingyReflection,
    install_probe,
    private_pool,
    probe_file,
    probe_handler,
    reflection_handler,
    serving,
)


def _server_with(versions: tuple[str, ...], *methods: str) -> grpc.aio.Server:
    server = grpc.aio.server()
    install_probe(server, private_pool(probe_file(*methods)), "p", versions)
    return server


async def _fetch_from(versions: tuple[str, ...], *methods: str) -> Contracts:
    server = _server_with(versions, *methods)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            reflection = await fetch(channel, timeout_seconds=5)
    finally:
        await server.stop(None)
    assert [s.full_name for s in reflection.services] == [SERVICE]
    return Contracts.build([("probe", s) for s in reflection.services])


@pytest.mark.parametrize("versions", [(V1,), (V1ALPHA,), (V1, V1ALPHA)], ids=str)
async def test_reads_a_service_defined_only_at_run_time_with_its_options(
    versions: tuple[str, ...],
) -> None:
    contracts = await _fetch_from(versions, GET_PROBE, LIST_PROBES)
    assert [m.name for m in contracts] == [f"{SERVICE}.{GET_PROBE}", f"{SERVICE}.{LIST_PROBES}"]
    get = contracts.find(f"/{SERVICE}/{GET_PROBE}")
    assert get is not None
    assert get.access == AccessRule(public=True)
    assert [r.get for r in get.http_rules] == ["/api/v1/probe/{name}"]
    listing = contracts.find(f"/{SERVICE}/{LIST_PROBES}")
    assert listing is not None and listing.success_code == 202


async def test_a_server_without_reflection_answers_unimplemented() -> None:
    pool = private_pool(probe_file(GET_PROBE))
    async with (
        serving(probe_handler(pool, "p")) as address,
        grpc.aio.insecure_channel(address) as channel,
    ):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await fetch(channel, timeout_seconds=5)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_imports_are_asked_for_one_by_one_when_the_server_sends_only_what_was_asked() -> None:
    pool = private_pool(probe_file(GET_PROBE))
    stingy = StingyReflection(pool)
    async with (
        serving(reflection_handler(stingy)) as address,
        grpc.aio.insecure_channel(address) as channel,
    ):
        reflection = await fetch(channel, timeout_seconds=5)
    assert stingy.asked[0] == FILENAME
    assert "google/api/annotations.proto" in stingy.asked
    assert "google/protobuf/descriptor.proto" in stingy.asked
    assert {f.name for f in reflection.files} == set(stingy.asked)
    method = reflection.pool.FindMethodByName(f"{SERVICE}.{GET_PROBE}")
    assert method.containing_service.full_name == SERVICE


async def test_imports_the_server_withholds_come_from_our_own_pool() -> None:
    pool = private_pool(probe_file(GET_PROBE))
    stingy = StingyReflection(pool, withheld={"google/api/annotations.proto"})
    async with (
        serving(reflection_handler(stingy)) as address,
        grpc.aio.insecure_channel(address) as channel,
    ):
        reflection = await fetch(channel, timeout_seconds=5)
    assert "google/api/annotations.proto" in stingy.asked
    assert "google/api/annotations.proto" not in {f.name for f in reflection.files}
    contracts = Contracts.build([("probe", s) for s in reflection.services])
    assert [r.get for m in contracts for r in m.http_rules] == ["/api/v1/probe/{name}"]


async def test_an_import_nobody_can_supply_is_an_error_naming_it() -> None:
    unknown = descriptor_pb2.FileDescriptorProto(name="acme/unknown.proto", package="acme")
    probe = probe_file(GET_PROBE)
    probe.dependency.append(unknown.name)
    stingy = StingyReflection(private_pool(unknown, probe), withheld={unknown.name})
    async with (
        serving(reflection_handler(stingy)) as address,
        grpc.aio.insecure_channel(address) as channel,
    ):
        with pytest.raises(ReflectionError, match=f"{FILENAME} imports acme/unknown.proto"):
            await fetch(channel, timeout_seconds=5)


async def test_a_service_the_server_cannot_describe_is_an_error_naming_it() -> None:
    pool = private_pool(probe_file(GET_PROBE))
    stingy = StingyReflection(pool, withheld={FILENAME})
    async with (
        serving(reflection_handler(stingy)) as address,
        grpc.aio.insecure_channel(address) as channel,
    ):
        with pytest.raises(ReflectionError, match=f"defining {SERVICE}: NOT_FOUND"):
            await fetch(channel, timeout_seconds=5)


async def test_a_silent_server_is_given_up_within_the_timeout_and_its_call_cancelled() -> None:
    silent = SilentReflection()
    async with (
        serving(reflection_handler(silent)) as address,
        grpc.aio.insecure_channel(address) as channel,
    ):
        with pytest.raises((TimeoutError, grpc.aio.AioRpcError)) as info:
            await fetch(channel, timeout_seconds=0.5)
        if isinstance(info.value, grpc.aio.AioRpcError):
            assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        await asyncio.wait_for(silent.ended.wait(), 10)


async def test_cancelling_a_fetch_cancels_its_call_on_the_server() -> None:
    silent = SilentReflection()
    async with (
        serving(reflection_handler(silent)) as address,
        grpc.aio.insecure_channel(address) as channel,
    ):
        task = asyncio.create_task(fetch(channel, timeout_seconds=60))
        await asyncio.wait_for(silent.started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(silent.ended.wait(), 10)
