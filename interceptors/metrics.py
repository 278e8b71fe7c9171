"""Prometheus metrics for every call a server handles (definitions in mesh.observability)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import grpc
from prometheus_client import REGISTRY, CollectorRegistry

from interceptors._handlers import (
    Context,
    RpcInfo,
    ServerInterceptorBase,
    StreamNext,
    UnaryNext,
    final_code,
)
from mesh.observability.metrics import CallMetrics, server_metrics


class ServerMetricsInterceptor(ServerInterceptorBase):
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self._metrics = server_metrics(registry)

    async def intercept_unary_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: UnaryNext
    ) -> Any:
        call = CallMetrics(self._metrics, info)
        request = self._receive(info, request, call)
        error: BaseException | None = None
        try:
            response = await proceed(request, context)
        except BaseException as exc:
            error = exc
            raise
        finally:
            code = final_code(context, error)
            if code == grpc.StatusCode.OK:
                call.sent()
            call.finished(code)
        return response

    async def intercept_stream_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: StreamNext
    ) -> AsyncIterator[Any]:
        call = CallMetrics(self._metrics, info)
        request = self._receive(info, request, call)
        error: BaseException | None = None
        try:
            async with aclosing(proceed(request, context)) as responses:
                async for response in responses:
                    call.sent()
                    yield response
        except BaseException as exc:
            error = exc
            raise
        finally:
            call.finished(final_code(context, error))

    @staticmethod
    def _receive(info: RpcInfo, request: Any, call: CallMetrics) -> Any:
        if info.request_streaming:
            return _counted(request, call)
        call.received()
        return request


async def _counted(requests: AsyncIterator[Any], call: CallMetrics) -> AsyncIterator[Any]:
    async for request in requests:
        call.received()
        yield request
