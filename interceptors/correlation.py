"""The correlation id of each call: read or made up, bound into mesh.context, echoed back."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, contextmanager
from typing import Any

from interceptors._handlers import (
    Context,
    RpcInfo,
    ServerInterceptorBase,
    StreamNext,
    UnaryNext,
    metadata_values,
)
from mesh import context as call_context
from mesh.rpc import CORRELATION_ID_KEY

_VALID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def accept_correlation_id(value: str | None) -> str:
    """`value` when it is a well-formed correlation id, otherwise a fresh one.

    Anything else (too long, spaces, control characters) would end up verbatim in every log
    line and downstream header, so it is replaced rather than trusted.
    """
    if value is not None and _VALID.fullmatch(value):
        return value
    return new_correlation_id()


class CorrelationInterceptor(ServerInterceptorBase):
    """Binds correlation id, method and deadline of the call into `mesh.context`.

    The id goes back to the caller as initial metadata, sent when the call starts; grpc.aio
    has no way to add to initial metadata later, so servicers do not send their own.
    """

    async def intercept_unary_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: UnaryNext
    ) -> Any:
        with _bound(info, context) as correlation_id:
            await _echo(context, correlation_id)
            return await proceed(request, context)

    async def intercept_stream_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: StreamNext
    ) -> AsyncIterator[Any]:
        with _bound(info, context) as correlation_id:
            await _echo(context, correlation_id)
            async with aclosing(proceed(request, context)) as responses:
                async for response in responses:
                    yield response


@contextmanager
def _bound(info: RpcInfo, context: Context) -> Iterator[str]:
    values = metadata_values(context.invocation_metadata(), CORRELATION_ID_KEY)
    correlation_id = accept_correlation_id(values[0] if len(values) == 1 else None)
    remaining = context.time_remaining()
    with call_context.bind(
        correlation_id=correlation_id,
        method=info.full_method,
        deadline=None if remaining is None else time.monotonic() + remaining,
    ):
        yield correlation_id


async def _echo(context: Context, correlation_id: str) -> None:
    # Sent before anything else, so the caller sees the id even when the call fails.
    await context.send_initial_metadata(((CORRELATION_ID_KEY, correlation_id),))
