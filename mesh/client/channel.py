"""A channel-shaped object that generated stubs accept, balancing each call over instances.

Stubs only call `unary_unary`/`unary_stream`/`stream_unary`/`stream_stream` on their channel;
the multicallables returned here pick an instance per call and delegate to its real channel,
whose interceptors (the client chain) then see the call, whatever its kind.
"""

from __future__ import annotations

from typing import Any

import grpc

from mesh.client.balancer import NoHealthyInstance, RoundRobin

# The call kinds that get the default deadline when the caller sets none. A stream lives as
# long as its subscriber wants it (quotes, portfolio watches, Socket.IO rooms), so a default
# would cut it; a deadline the caller gives, or what is left of the inbound call's (added
# by the client chain), still bounds every kind.
_DEFAULT_DEADLINE: dict[str, bool] = {
    "unary_unary": True,
    "unary_stream": False,
    "stream_unary": False,
    "stream_stream": False,
}


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

    def __call__(self, request: Any = None, **call_kwargs: Any) -> Any:
        """`request` is the request message, or for client and bidi streams an (async)
        iterator of them; leave it out to send with `call.write()` instead."""
        balancer = self._channel.balancer
        try:
            _, channel = balancer.pick()
        except NoHealthyInstance as exc:
            raise _unavailable(exc) from None
        if call_kwargs.get("timeout") is None and _DEFAULT_DEADLINE[self._kind]:
            call_kwargs["timeout"] = self._channel.default_timeout_seconds
        factory = getattr(channel, self._kind)
        call = factory(self._method, **self._kwargs)(request, **call_kwargs)
        balancer.started(channel, call)
        return call


class BalancedChannel:
    """Looks like a `grpc.aio.Channel` to a stub. Unary calls get the default deadline unless
    the caller sets one; streams get none (see `_DEFAULT_DEADLINE`)."""

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
