"""One access log line per call (the JSON formatting is mesh.observability's)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import grpc

from interceptors._handlers import (
    Context,
    RpcInfo,
    ServerInterceptorBase,
    StreamNext,
    UnaryNext,
    final_code,
    peer_service,
)
from mesh.config import ConfigError

ACCESS_LOGGER = "trademesh.access"


@dataclass(frozen=True, slots=True)
class AccessLogConfig:
    """`[access_log]` / `TRADEMESH_ACCESS_LOG_*`: which access log lines are written.

    `success_sample_rate` is the share of successful calls that get a line (1.0, the
    default: every call; 0.01: one in a hundred, picked at random). Failed calls are always
    logged. Successful health and reflection calls are logged at DEBUG, so not at INFO.
    A line costs tens of µs of CPU; metrics and traces count every call whatever the rate.
    """

    success_sample_rate: float = 1.0

    def __post_init__(self) -> None:
        rate = self.success_sample_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0:
            raise ConfigError(
                "access_log.success_sample_rate", f"must be between 0 and 1, got {rate!r}"
            )
        object.__setattr__(self, "success_sample_rate", float(rate))


# Codes that mean the server (or something behind it) failed, logged as warnings; the rest
# are the caller's problem or success and logged at info.
SERVER_FAULT_CODES = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)


class AccessLogInterceptor(ServerInterceptorBase):
    """Logs one line per finished call: method, type, code, duration and the calling peer.

    Request metadata is never logged: it carries bearer tokens.
    """

    def __init__(self, service: str | None = None, logger: logging.Logger | None = None) -> None:
        self._service = service
        self._logger = logger or logging.getLogger(ACCESS_LOGGER)

    async def intercept_unary_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: UnaryNext
    ) -> Any:
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return await proceed(request, context)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._log(info, context, error, started)

    async def intercept_stream_response(
        self, info: RpcInfo, request: Any, context: Context, proceed: StreamNext
    ) -> AsyncIterator[Any]:
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            async with aclosing(proceed(request, context)) as responses:
                async for response in responses:
                    yield response
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._log(info, context, error, started)

    def _log(
        self, info: RpcInfo, context: Context, error: BaseException | None, started: float
    ) -> None:
        code = final_code(context, error)
        duration_ms = round((time.perf_counter() - started) * 1000.0, 3)
        level = logging.WARNING if code in SERVER_FAULT_CODES else logging.INFO
        self._logger.log(
            level,
            "%s %s %.1fms",
            info.full_method,
            code.name,
            duration_ms,
            extra={
                "grpc_type": info.grpc_type,
                "grpc_code": code.name,
                "duration_ms": duration_ms,
                "peer_service": peer_service(context),
                "peer": context.peer(),
                **({"service": self._service} if self._service else {}),
            },
        )
