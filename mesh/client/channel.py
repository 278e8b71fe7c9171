"""A channel-shaped object that generated stubs accept, balancing each call over instances.

Stubs only call `unary_unary`/`unary_stream`/`stream_unary`/`stream_stream` on their channel;
the multicallables returned here pick an instance per attempt and call through its real
channel, whose interceptors (the client chain) then see each attempt, whatever its kind.
Unary calls and server streams retry elsewhere when that is safe (`mesh.client.calls`);
client and bidi streams, whose requests cannot be replayed, are sent once.
"""

from __future__ import annotations

from typing import Any

from mesh.client.calls import MethodPlan, StreamCall, UnaryCall, unavailable
from mesh.client.pool import NoHealthyInstance
from mesh.client.upstream import Upstream
from mesh.options import compiled_method, retry_safe_of


def _retry_safe(method: str, declared: bool | None) -> bool:
    if declared is not None:
        return declared
    descriptor = compiled_method(method)
    return descriptor is not None and retry_safe_of(descriptor)


class _UnaryUnary:
    __slots__ = ("_plan", "_upstream")

    def __init__(self, upstream: Upstream, plan: MethodPlan) -> None:
        self._upstream = upstream
        self._plan = plan

    def __call__(self, request: Any, **kwargs: Any) -> UnaryCall:
        return UnaryCall(self._upstream, self._plan, request, kwargs)


class _UnaryStream(_UnaryUnary):
    def __call__(self, request: Any, **kwargs: Any) -> StreamCall:  # type: ignore[override]
        return StreamCall(self._upstream, self._plan, request, kwargs)


class _StreamRequests(_UnaryUnary):
    """Client and bidi streams: one attempt, balanced, counted, within the bulkhead."""

    def __call__(self, request: Any = None, **kwargs: Any) -> Any:
        upstream = self._upstream
        if not upstream.streams.try_enter():
            raise upstream.shed_error(upstream.streams, "streams")
        try:
            endpoint = upstream.pool.pick(probe=False)
        except NoHealthyInstance as exc:
            upstream.streams.leave()
            raise unavailable(str(exc)) from None
        upstream.pool.started(endpoint)
        try:
            call = self._plan.callable_on(endpoint)(request, **kwargs)
        except BaseException:
            upstream.pool.ended(endpoint)
            upstream.streams.leave()
            raise

        def ended(_: Any) -> None:
            upstream.pool.ended(endpoint)
            upstream.streams.leave()

        call.add_done_callback(ended)
        return call


class BalancedChannel:
    """Looks like a `grpc.aio.Channel` to a stub. Unary calls get the upstream's default
    deadline unless the caller sets one; streams get none, since a stream lives as long as
    its subscriber wants it (a deadline the caller gives, or what is left of the inbound
    call's, still bounds every kind). `retry_safe` overrides what the
    method's descriptor says (for contracts not compiled in, e.g. learned by reflection)."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    @property
    def pool(self) -> Any:
        return self.upstream.pool

    def _plan(
        self, kind: str, method: str, kwargs: dict[str, Any], retry_safe: bool | None
    ) -> MethodPlan:
        kwargs.pop("_registered_method", None)
        return MethodPlan(self.upstream, kind, method, kwargs, _retry_safe(method, retry_safe))

    def unary_unary(
        self, method: str, *, retry_safe: bool | None = None, **kwargs: Any
    ) -> _UnaryUnary:
        return _UnaryUnary(self.upstream, self._plan("unary_unary", method, kwargs, retry_safe))

    def unary_stream(
        self, method: str, *, retry_safe: bool | None = None, **kwargs: Any
    ) -> _UnaryStream:
        return _UnaryStream(self.upstream, self._plan("unary_stream", method, kwargs, retry_safe))

    def stream_unary(self, method: str, **kwargs: Any) -> _StreamRequests:
        return _StreamRequests(self.upstream, self._plan("stream_unary", method, kwargs, False))

    def stream_stream(self, method: str, **kwargs: Any) -> _StreamRequests:
        return _StreamRequests(self.upstream, self._plan("stream_stream", method, kwargs, False))
