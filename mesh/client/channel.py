"""A channel-shaped object that generated stubs accept, balancing each call over instances.

Stubs only call `unary_unary`/`unary_stream`/`stream_unary`/`stream_stream` on their channel;
the multicallables returned here pick an instance per call and delegate to its real channel.
"""

from __future__ import annotations

from typing import Any

import grpc

from mesh.client.balancer import NoHealthyInstance, RoundRobin


def _unavailable(exc: NoHealthyInstance) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        code=grpc.StatusCode.UNAVAILABLE,
        initial_metadata=grpc.aio.Metadata(),
        trailing_metadata=grpc.aio.Metadata(),
        details=str(exc),
    )


class _MultiCallable:
    def __init__(
        self, channel: BalancedChannel, kind: str, method: str, kwargs: dict[str, Any]
    ) -> None:
        self._channel = channel
        self._kind = kind
        self._method = method
        self._kwargs = kwargs

    def __call__(self, request: Any, **call_kwargs: Any) -> Any:
        try:
            _, channel = self._channel.balancer.pick()
        except NoHealthyInstance as exc:
            raise _unavailable(exc) from None
        if call_kwargs.get("timeout") is None:
            call_kwargs["timeout"] = self._channel.default_timeout_seconds
        factory = getattr(channel, self._kind)
        return factory(self._method, **self._kwargs)(request, **call_kwargs)


class BalancedChannel:
    """Looks like a `grpc.aio.Channel` to a stub; every call gets a deadline."""

    def __init__(self, balancer: RoundRobin, default_timeout_seconds: float) -> None:
        self.balancer = balancer
        self.default_timeout_seconds = default_timeout_seconds

    def _multi(self, kind: str, method: str, kwargs: dict[str, Any]) -> _MultiCallable:
        return _MultiCallable(self, kind, method, kwargs)

    def unary_unary(self, method: str, **kwargs: Any) -> _MultiCallable:
        return self._multi("unary_unary", method, kwargs)

    def unary_stream(self, method: str, **kwargs: Any) -> _MultiCallable:
        return self._multi("unary_stream", method, kwargs)

    def stream_unary(self, method: str, **kwargs: Any) -> _MultiCallable:
        return self._multi("stream_unary", method, kwargs)

    def stream_stream(self, method: str, **kwargs: Any) -> _MultiCallable:
        return self._multi("stream_stream", method, kwargs)
