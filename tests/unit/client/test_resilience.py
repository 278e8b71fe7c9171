"""The mesh client under failure, against real grpc.aio servers on loopback: retries go to
another instance within the deadline and the budget, breakers eject failing instances and
probe them back, bulkheads shed the excess, and nothing leaks when callers vanish."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest

from mesh.client import ClientConfig
from mesh.discovery import Instance
from mesh.infra.ports import free_port
from mesh.resilience import BreakerConfig, BulkheadConfig, RetryConfig
from tests.conftest import eventually

from .conftest import Mesh, instances, mesh_client, ticks_servers
from .ticks import SERVICE, Recorder, StringValue

UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


def unary(mesh: Mesh, *, retry_safe: bool = True) -> Any:
    return mesh.channel.unary_unary(
        f"/{SERVICE}/Unary",
        request_serializer=StringValue.SerializeToString,
        response_deserializer=StringValue.FromString,
        retry_safe=retry_safe,
    )


def ticks(mesh: Mesh, *, retry_safe: bool = True) -> Any:
    return mesh.channel.unary_stream(
        f"/{SERVICE}/Ticks",
        request_serializer=StringValue.SerializeToString,
        response_deserializer=StringValue.FromString,
        retry_safe=retry_safe,
    )


def config(**sections: Any) -> ClientConfig:
    return ClientConfig(
        retry=sections.get("retry", RetryConfig()),
        breaker=sections.get("breaker", BreakerConfig()),
        bulkhead=sections.get("bulkhead", BulkheadConfig()),
        default_timeout_seconds=sections.get("timeout", 5.0),
    )


@asynccontextmanager
async def dead_and_live(cfg: ClientConfig) -> AsyncIterator[tuple[Mesh, Any]]:
    """A pool of two: `dead-0` on a port nothing listens on, then the live server `s0`."""
    async with ticks_servers(1) as servers, mesh_client(servers.addresses, config=cfg) as mesh:
        dead = Instance("dead-0", "127.0.0.1", free_port())
        mesh.balancer.update([dead, *instances(servers.addresses)])
        yield mesh, servers


async def all_arrived(recorder: Recorder, count: int) -> None:
    """Wait (bounded) until `count` calls are running on the servers."""

    async def arrived() -> bool:
        return recorder.active >= count

    await eventually(arrived, timeout=60, what=f"{count} calls running on the servers")


def state_of(mesh: Mesh, instance_id: str) -> str:
    return next(s.breaker for s in mesh.balancer.states() if s.instance_id == instance_id)


async def test_retry_safe_calls_move_off_a_dead_instance_and_its_breaker_opens() -> None:
    async with dead_and_live(config()) as (mesh, servers):
        call = unary(mesh)
        answers = [await call(StringValue(value=str(n))) for n in range(40)]

        assert {a.value for a in answers} == {"s0"}
        assert state_of(mesh, "dead-0") == "open"
        upstream = mesh.channel.upstream
        # Five failures in a row opened it; each was retried once, on the live instance.
        assert upstream.counters.retries == BreakerConfig().consecutive_failures
        assert len(servers.recorder.by_method("Unary")) == 40


async def test_calls_that_are_not_retry_safe_are_sent_once() -> None:
    async with dead_and_live(config()) as (mesh, servers):
        call = unary(mesh, retry_safe=False)
        codes = []
        for n in range(10):
            try:
                await call(StringValue(value=str(n)))
                codes.append(grpc.StatusCode.OK)
            except grpc.aio.AioRpcError as error:
                codes.append(error.code())

        assert codes.count(UNAVAILABLE) >= 1
        assert mesh.channel.upstream.counters.retries == 0
        assert len(servers.recorder.by_method("Unary")) == codes.count(grpc.StatusCode.OK)


async def test_an_idempotency_key_makes_any_call_retry_safe() -> None:
    async with dead_and_live(config()) as (mesh, _):
        call = unary(mesh, retry_safe=False)
        for n in range(10):
            metadata = (("idempotency-key", f"k{n}"),)
            assert (await call(StringValue(value=str(n)), metadata=metadata)).value == "s0"
        assert mesh.channel.upstream.counters.retries >= 1


async def test_answers_that_say_nothing_about_the_instance_are_neither_retried_nor_counted() -> (
    None
):
    async with ticks_servers(2) as servers, mesh_client(servers.addresses) as mesh:
        servers.recorder.failing["s0"] = (grpc.StatusCode.INVALID_ARGUMENT, None)
        call = unary(mesh)
        failed = 0
        for n in range(30):
            try:
                await call(StringValue(value=str(n)))
            except grpc.aio.AioRpcError as error:
                assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
                failed += 1

        assert failed == 15  # round robin: every other call, none retried
        assert mesh.channel.upstream.counters.retries == 0
        assert [s.breaker for s in mesh.balancer.states()] == ["closed", "closed"]


async def test_the_retry_budget_caps_retries_when_every_instance_fails() -> None:
    retry = RetryConfig(budget_ratio=0.2, budget_min_retries_per_second=0.0)
    breaker = BreakerConfig(max_ejected_share=0.0)  # keep both in: every call fails
    async with (
        ticks_servers(2) as servers,
        mesh_client(servers.addresses, config=config(retry=retry, breaker=breaker)) as mesh,
    ):
        for name in ("s0", "s1"):
            servers.recorder.failing[name] = (UNAVAILABLE, None)
        call = unary(mesh)
        for n in range(100):
            with pytest.raises(grpc.aio.AioRpcError):
                await call(StringValue(value=str(n)))

        upstream = mesh.channel.upstream
        assert upstream.counters.retries <= 0.2 * 100
        assert upstream.budget.exhausted > 0
        assert len(servers.recorder.by_method("Unary")) == 100 + upstream.counters.retries


async def test_a_retry_never_outlives_the_deadline() -> None:
    async with ticks_servers(2) as servers, mesh_client(servers.addresses) as mesh:
        # RESOURCE_EXHAUSTED is retried only after the delay its RetryInfo asks for.
        servers.recorder.failing["s0"] = (grpc.StatusCode.RESOURCE_EXHAUSTED, 5.0)
        servers.recorder.failing["s1"] = (grpc.StatusCode.RESOURCE_EXHAUSTED, 5.0)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await unary(mesh)(StringValue(value="x"), timeout=1.0)
        assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert len(servers.recorder.by_method("Unary")) == 1


async def test_resource_exhausted_with_retry_info_is_retried_elsewhere() -> None:
    async with ticks_servers(2) as servers, mesh_client(servers.addresses) as mesh:
        servers.recorder.failing["s0"] = (grpc.StatusCode.RESOURCE_EXHAUSTED, 0.01)
        call = unary(mesh)
        answers = [(await call(StringValue(value=str(n)))).value for n in range(6)]
        assert answers == ["s1"] * 6
        # RESOURCE_EXHAUSTED is the instance saying "not now", not that it is unhealthy.
        assert [s.breaker for s in mesh.balancer.states()] == ["closed", "closed"]


async def test_an_ejected_instance_is_probed_back_in_once_it_recovers() -> None:
    breaker = BreakerConfig(base_ejection_seconds=0.2, max_ejection_seconds=1.0)
    async with (
        ticks_servers(2) as servers,
        mesh_client(servers.addresses, config=config(breaker=breaker)) as mesh,
    ):
        servers.recorder.failing["s0"] = (UNAVAILABLE, None)
        call = unary(mesh)
        for n in range(12):
            assert (await call(StringValue(value=str(n)))).value == "s1"
        assert [s.breaker for s in mesh.balancer.states()] == ["open", "closed"]

        del servers.recorder.failing["s0"]
        served: set[str] = set()
        for n in range(200):
            served.add((await call(StringValue(value=str(n)))).value)
            if "s0" in served:
                break
            await asyncio.sleep(0.02)
        assert "s0" in served
        assert [s.breaker for s in mesh.balancer.states()] == ["closed", "closed"]


async def test_a_full_bulkhead_sheds_at_once_and_recovers() -> None:
    cfg = config(bulkhead=BulkheadConfig(max_concurrent_calls=4))
    async with ticks_servers(1) as servers, mesh_client(servers.addresses, config=cfg) as mesh:
        call = unary(mesh)
        outcomes = await asyncio.gather(
            *(call(StringValue(value="sleep:0.5")) for _ in range(10)), return_exceptions=True
        )
        shed = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
        assert len(shed) == 6
        assert all(e.code() is grpc.StatusCode.RESOURCE_EXHAUSTED for e in shed)
        assert "the bulkhead's limit is 4" in (shed[0].details() or "")
        assert len(servers.recorder.by_method("Unary")) == 4  # the shed were never sent
        assert mesh.channel.upstream.calls.in_flight == 0
        assert (await call(StringValue(value="again"))).value == "s0"


async def test_streams_retry_elsewhere_until_their_first_message() -> None:
    async with dead_and_live(config()) as (mesh, _):
        stream = ticks(mesh)
        for _ in range(8):
            got = [m.value async for m in stream(StringValue(value="3:0"))]
            assert got == ["0", "1", "2"]
        assert mesh.channel.upstream.streams.in_flight == 0


async def test_a_stream_that_fails_after_its_first_message_is_not_replayed() -> None:
    async with ticks_servers(2) as servers, mesh_client(servers.addresses) as mesh:
        call = ticks(mesh)(StringValue(value="hang"))
        assert (await call.read()).value == "0"
        for server in servers.servers:
            await server.stop(0)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call.read()
        assert raised.value.code() is UNAVAILABLE
        assert mesh.channel.upstream.counters.retries == 0


async def test_hundreds_of_cancelled_calls_leave_nothing_counted() -> None:
    async with ticks_servers(2) as servers, mesh_client(servers.addresses) as mesh:
        call, stream = unary(mesh), ticks(mesh)

        async def read_all() -> None:
            async for _ in stream(StringValue(value="hang")):
                pass

        tasks = [
            asyncio.ensure_future(call(StringValue(value="sleep:60"), timeout=120))
            for _ in range(300)
        ]
        tasks += [asyncio.create_task(read_all()) for _ in range(100)]
        await all_arrived(servers.recorder, 400)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

        upstream = mesh.channel.upstream

        async def none_in_flight() -> bool:
            return not any(s.in_flight for s in mesh.balancer.states())

        # Stream ends are counted by grpc's done callbacks, soon after the cancellations.
        await eventually(none_in_flight, timeout=30, what="every call counted as ended")
        assert upstream.calls.in_flight == 0
        assert upstream.streams.in_flight == 0
        assert [s.breaker for s in mesh.balancer.states()] == ["closed", "closed"]
        assert (await call(StringValue(value="after"))).value in {"s0", "s1"}


async def test_closing_the_channels_under_hundreds_of_calls_ends_every_call() -> None:
    async with ticks_servers(2) as servers, mesh_client(servers.addresses) as mesh:
        call = unary(mesh)
        tasks = [
            asyncio.ensure_future(call(StringValue(value="sleep:60"), timeout=120))
            for _ in range(300)
        ]
        await all_arrived(servers.recorder, 300)
        await mesh.balancer.close()
        outcomes = await asyncio.wait_for(
            asyncio.gather(*tasks, return_exceptions=True), timeout=10
        )
        assert all(isinstance(o, grpc.aio.AioRpcError | asyncio.CancelledError) for o in outcomes)
        assert mesh.channel.upstream.calls.in_flight == 0
