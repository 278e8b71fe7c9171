"""Calls any RPC the edge knows through the mesh client, by its contract: discovery,
balancing, mTLS and the client interceptor chain (correlation id, user token, deadline and
trace context from `mesh.context`) come with the mesh client."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Sequence
from typing import Any

from google.protobuf.message import Message

from edge.contracts import MethodContract
from mesh.client import MeshClient
from mesh.options import retry_safe_of

Metadata = Sequence[tuple[str, str]]


class Upstream:
    """One per edge. A multicallable is built once per contract and reused: keyed by the
    contract itself, since a contract learned again by reflection brings message classes of
    its own (a new pool), which its calls must (de)serialize with; dropped with it."""

    def __init__(self, mesh: MeshClient) -> None:
        self.mesh = mesh
        self._callables: weakref.WeakKeyDictionary[MethodContract, Any] = (
            weakref.WeakKeyDictionary()
        )

    async def _callable(self, method: MethodContract) -> Any:
        found = self._callables.get(method)
        if found is None:
            channel = await self.mesh.connect(method.service)
            kind = "unary_stream" if method.server_streaming else "unary_unary"
            found = getattr(channel, kind)(
                method.full_method,
                request_serializer=method.request_class.SerializeToString,
                response_deserializer=method.response_class.FromString,
                retry_safe=retry_safe_of(method.descriptor),
            )
            self._callables[method] = found
        return found

    async def unary(
        self,
        method: MethodContract,
        request: Message,
        *,
        metadata: Metadata = (),
        timeout_seconds: float | None = None,
    ) -> Message:
        """The answer of a unary RPC; a failure raises `grpc.aio.AioRpcError`."""
        call = (await self._callable(method))(request, metadata=metadata, timeout=timeout_seconds)
        response: Message = await call
        return response

    async def stream(
        self, method: MethodContract, request: Message, *, metadata: Metadata = ()
    ) -> AsyncIterator[Message]:
        """The messages of a server stream until it ends; a failure raises
        `grpc.aio.AioRpcError`. Closing the generator (use `contextlib.aclosing`) or
        cancelling its consumer cancels the upstream call at once."""
        call = (await self._callable(method))(request, metadata=metadata)
        try:
            async for message in call:
                yield message
        finally:
            call.cancel()
