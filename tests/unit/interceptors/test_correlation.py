"""Correlation ids through a real server: generated, accepted, replaced, echoed, bound."""

from __future__ import annotations

import asyncio
import re

import grpc
import pytest

from interceptors import ServerInterceptorConfig, accept_correlation_id

from . import probe
from .conftest import CALL_TIMEOUT_SECONDS, serving

HEX_ID = re.compile(r"[0-9a-f]{32}")


async def _call(address: str, metadata: tuple[tuple[str, str], ...] = ()) -> tuple[str, str]:
    """(correlation id the handler saw, correlation id echoed in initial metadata)."""
    async with grpc.aio.insecure_channel(address) as channel:
        call = probe.ProbeClient(channel).unary(
            probe.StringValue(), metadata=metadata, timeout=CALL_TIMEOUT_SECONDS
        )
        response = await call
        initial = await call.initial_metadata()
    seen = response.value.split("|")[0]
    return seen, initial["x-correlation-id"]


async def test_an_id_is_generated_when_the_caller_sends_none(
    server_config: ServerInterceptorConfig,
) -> None:
    async with serving(server_config) as server:
        seen, echoed = await _call(server.address)
        seen_again, _ = await _call(server.address)

    assert HEX_ID.fullmatch(seen)
    assert echoed == seen
    assert seen_again != seen


async def test_the_callers_id_is_bound_and_echoed(server_config: ServerInterceptorConfig) -> None:
    async with serving(server_config) as server:
        seen, echoed = await _call(server.address, (("x-correlation-id", "edge-7f3.a_B-9"),))

    assert seen == echoed == "edge-7f3.a_B-9"


@pytest.mark.parametrize(
    "bad_id",
    ["has space", "semi;colon", "x" * 129, "../etc/passwd"],
    ids=["space", "punctuation", "too-long", "slashes"],
)
async def test_a_malformed_id_is_replaced(
    server_config: ServerInterceptorConfig, bad_id: str
) -> None:
    async with serving(server_config) as server:
        seen, echoed = await _call(server.address, (("x-correlation-id", bad_id),))

    assert HEX_ID.fullmatch(seen)
    assert echoed == seen


async def test_the_id_is_echoed_even_when_the_call_fails(
    server_config: ServerInterceptorConfig,
) -> None:
    async with serving(server_config) as server, grpc.aio.insecure_channel(server.address) as ch:
        call = probe.ProbeClient(ch).unary(
            probe.StringValue(value="not_found"),
            metadata=(("x-correlation-id", "failing-call-1"),),
            timeout=CALL_TIMEOUT_SECONDS,
        )
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert raised.value.initial_metadata()["x-correlation-id"] == "failing-call-1"


async def test_concurrent_calls_keep_their_own_ids(
    server_config: ServerInterceptorConfig,
) -> None:
    ids = [f"concurrent-{n}" for n in range(20)]
    async with serving(server_config) as server:
        results = await asyncio.gather(
            *(_call(server.address, (("x-correlation-id", cid),)) for cid in ids)
        )

    assert [seen for seen, _ in results] == ids
    assert [echoed for _, echoed in results] == ids


def test_accept_correlation_id_bounds() -> None:
    assert accept_correlation_id("a" * 128) == "a" * 128
    assert accept_correlation_id("") != ""
    assert HEX_ID.fullmatch(accept_correlation_id(None))
