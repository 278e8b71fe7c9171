"""The pump of an HTTP server stream: a stream ended by a draining instance is reopened at
once and the client sees one continuous stream; any other failure, or drains with nothing in
between, end it with the failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import grpc
from google.protobuf.message import Message
from google.protobuf.wrappers_pb2 import StringValue

from edge.rest.streaming import _DRAIN_REOPENS, _pump
from mesh.errors.draining import STATUS_DETAILS_KEY, draining_status

Queue = asyncio.Queue[Message | grpc.aio.AioRpcError | None]


def draining() -> grpc.aio.AioRpcError:
    status = draining_status("marketdata")
    return grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE,
        grpc.aio.Metadata(),
        grpc.aio.Metadata((STATUS_DETAILS_KEY, status.SerializeToString())),
        details=status.message,
    )


def plain_unavailable() -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), details="gone"
    )


def streams(
    *scripts: tuple[list[str], grpc.aio.AioRpcError | None],
) -> Callable[[], AsyncIterator[Message]]:
    """Each call opens the next scripted stream: its messages, then its failure (or end)."""
    pending = list(scripts)

    def open_stream() -> AsyncIterator[Message]:
        values, failure = pending.pop(0)

        async def messages() -> AsyncIterator[Message]:
            for value in values:
                yield StringValue(value=value)
            if failure is not None:
                raise failure

        return messages()

    return open_stream


async def drained(queue: Queue) -> list[object]:
    out: list[object] = []
    while True:
        item = await asyncio.wait_for(queue.get(), 5)
        out.append(item.value if isinstance(item, StringValue) else item)
        if item is None or isinstance(item, grpc.aio.AioRpcError):
            return out


async def test_a_drained_stream_continues_on_a_reopened_one() -> None:
    queue: Queue = asyncio.Queue()
    await _pump(streams((["a", "b"], draining()), (["c"], None)), queue)
    assert await drained(queue) == ["a", "b", "c", None]


async def test_other_failures_end_the_stream_with_the_failure() -> None:
    queue: Queue = asyncio.Queue()
    failure = plain_unavailable()
    await _pump(streams((["a"], failure), (["never"], None)), queue)
    assert await drained(queue) == ["a", failure]


async def test_drains_with_no_message_in_between_give_up() -> None:
    queue: Queue = asyncio.Queue()
    scripts = [([], draining()) for _ in range(_DRAIN_REOPENS + 1)]
    await _pump(streams((["a"], draining()), *scripts), queue)
    got = await drained(queue)
    assert got[0] == "a"
    assert isinstance(got[-1], grpc.aio.AioRpcError) and len(got) == 2
