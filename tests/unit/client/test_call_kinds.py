"""Every call kind through the mesh client: balanced over instances and seen by the whole
client chain (correlation id, user token, metrics, spans)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from opentelemetry.trace import SpanKind

from mesh import context as call_context
from mesh.context import Principal
from tests.conftest import eventually

from .conftest import Mesh, mesh_client, ticks_servers
from .ticks import KINDS, StringValue, values

PRINCIPAL = Principal(
    user_id="user-1", session_id="session-1", roles=frozenset({"trader"}), token="user-token"
)


async def _call(mesh: Mesh, method: str) -> str:
    """One call of `method`; what it answered."""
    if method == "Unary":
        return str((await mesh.client.unary(StringValue())).value)
    if method == "Ticks":
        return ",".join([r.value async for r in mesh.client.ticks(StringValue(value="2:0"))])
    if method == "Collect":
        return str((await mesh.client.collect(values("a", "b", "c"))).value)
    return ",".join([r.value async for r in mesh.client.echo(values("x", "y"))])


async def _one_of_each(mesh: Mesh) -> list[str]:
    return [await _call(mesh, method) for method in KINDS]


async def test_context_metadata_reaches_the_server_for_every_kind() -> None:
    async with ticks_servers() as servers, mesh_client(servers.addresses) as mesh:
        with call_context.bind(correlation_id="corr-kinds-1", principal=PRINCIPAL):
            answers = await _one_of_each(mesh)

    assert answers == ["s0", "0,1", "a,b,c", "X,Y"]
    for method in KINDS:
        [arrival] = servers.recorder.by_method(method)
        assert arrival.metadata.get("x-correlation-id") == "corr-kinds-1", method
        assert arrival.metadata.get("authorization") == "Bearer user-token", method
        assert arrival.metadata.get("traceparent", "").startswith("00-"), method


async def test_metadata_the_caller_sets_is_kept_for_every_kind() -> None:
    own = (("x-correlation-id", "own-1"), ("authorization", "Bearer service-token"))
    async with ticks_servers() as servers, mesh_client(servers.addresses) as mesh:
        with call_context.bind(correlation_id="inherited", principal=PRINCIPAL):
            await mesh.client.unary(StringValue(), metadata=own)
            async for _ in mesh.client.ticks(StringValue(value="1:0"), metadata=own):
                pass
            await mesh.client.collect(values("a"), metadata=own)
            async for _ in mesh.client.echo(values("a"), metadata=own):
                pass

    for method in KINDS:
        [arrival] = servers.recorder.by_method(method)
        assert arrival.metadata.get("x-correlation-id") == "own-1", method
        assert arrival.metadata.get("authorization") == "Bearer service-token", method


async def test_client_metrics_count_every_kind() -> None:
    async with ticks_servers() as servers, mesh_client(servers.addresses) as mesh:
        await _one_of_each(mesh)

        async def all_handled() -> bool:
            return all(
                mesh.metric("grpc_client_handled_total", method, grpc_code="OK") == 1
                for method in KINDS
            )

        await eventually(all_handled, timeout=10, interval=0.05, what="every call counted")

    sent = {m: mesh.metric("grpc_client_msg_sent_total", m) for m in KINDS}
    received = {m: mesh.metric("grpc_client_msg_received_total", m) for m in KINDS}
    started = {m: mesh.metric("grpc_client_started_total", m) for m in KINDS}
    timed = {m: mesh.metric("grpc_client_handling_seconds_count", m) for m in KINDS}
    assert sent == {"Unary": 1, "Ticks": 1, "Collect": 3, "Echo": 2}
    assert received == {"Unary": 1, "Ticks": 2, "Collect": 1, "Echo": 2}
    assert started == {m: 1 for m in KINDS}
    assert timed == {m: 1 for m in KINDS}


async def test_failed_streams_are_counted_with_their_code() -> None:
    async with ticks_servers() as servers, mesh_client(servers.addresses) as mesh:
        with pytest.raises(grpc.aio.AioRpcError):
            async for _ in mesh.client.ticks(StringValue(value="hang"), timeout=0.2):
                pass

        async def counted() -> float:
            return mesh.metric("grpc_client_handled_total", "Ticks", grpc_code="DeadlineExceeded")

        assert await eventually(counted, timeout=10, interval=0.05) == 1
    assert mesh.metric("grpc_client_handled_total", "Ticks", grpc_code="OK") == 0


async def test_a_client_span_for_every_kind_carried_to_the_server() -> None:
    async with ticks_servers() as servers, mesh_client(servers.addresses) as mesh:
        await _one_of_each(mesh)

        async def all_ended() -> bool:
            return len(mesh.spans.get_finished_spans()) == len(KINDS)

        await eventually(all_ended, timeout=10, interval=0.05, what="every span ended")

    by_name = {span.name: span for span in mesh.spans.get_finished_spans()}
    for method in KINDS:
        span = by_name[f"trademesh.test.v1.Ticks/{method}"]
        assert span.kind == SpanKind.CLIENT
        assert span.attributes is not None
        assert span.attributes["rpc.grpc.status_code"] == grpc.StatusCode.OK.value[0]
        [arrival] = servers.recorder.by_method(method)
        _, trace_id, span_id, _ = arrival.metadata["traceparent"].split("-")
        assert int(trace_id, 16) == span.context.trace_id
        assert int(span_id, 16) == span.context.span_id


async def test_every_kind_is_balanced_over_the_instances() -> None:
    async with ticks_servers(2) as servers, mesh_client(servers.addresses) as mesh:
        for method in KINDS:
            for _ in range(4):
                await _call(mesh, method)

    for method in KINDS:
        spread = Counter(a.server for a in servers.recorder.by_method(method))
        assert spread == {"s0": 2, "s1": 2}, method


async def test_streams_written_with_call_write_go_through_the_chain() -> None:
    async with ticks_servers() as servers, mesh_client(servers.addresses) as mesh:
        with call_context.bind(correlation_id="written-1"):
            bidi = mesh.client.echo()
            await bidi.write(StringValue(value="a"))
            first = await bidi.read()
            await bidi.write(StringValue(value="b"))
            second = await bidi.read()
            await bidi.done_writing()
            end = await bidi.read()
            collect = mesh.client.collect()
            for value in ("p", "q"):
                await collect.write(StringValue(value=value))
            await collect.done_writing()
            joined = await collect

        async def counted() -> bool:
            return (
                mesh.metric("grpc_client_msg_sent_total", "Echo") == 2
                and mesh.metric("grpc_client_msg_sent_total", "Collect") == 2
                and mesh.metric("grpc_client_handled_total", "Echo", grpc_code="OK") == 1
                and mesh.metric("grpc_client_handled_total", "Collect", grpc_code="OK") == 1
            )

        await eventually(counted, timeout=10, interval=0.05, what="written messages counted")

    assert (first.value, second.value, end) == ("A", "B", grpc.aio.EOF)
    assert joined.value == "p,q"
    for method in ("Echo", "Collect"):
        [arrival] = servers.recorder.by_method(method)
        assert arrival.metadata.get("x-correlation-id") == "written-1"


async def test_no_healthy_instance_fails_every_kind_with_unavailable() -> None:
    async with ticks_servers() as servers, mesh_client(servers.addresses) as mesh:
        mesh.balancer.update([])
        failures: list[grpc.aio.AioRpcError] = []
        makers: tuple[Callable[[], object], ...] = (
            lambda: mesh.client.unary(StringValue()),
            lambda: mesh.client.ticks(StringValue()),
            lambda: mesh.client.collect(values("a")),
            lambda: mesh.client.echo(values("a")),
        )
        for make in makers:
            # Unary calls and server streams fail when awaited or read (they may be retried
            # on an instance that appears meanwhile); client and bidi streams when made.
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                call: Any = make()
                await (call if hasattr(call, "__await__") else call.read())
            failures.append(raised.value)

    assert [f.code() for f in failures] == [grpc.StatusCode.UNAVAILABLE] * 4
    assert all("no healthy instance of 'ticks'" in (f.details() or "") for f in failures)
    assert servers.recorder.arrivals == []
