"""The calls a balanced channel makes: each attempt on an instance the pool picks, its
outcome told to that instance's breaker, retried elsewhere when that is safe.

A unary call is retried when its method is retry-safe (or its caller sent an idempotency
key), the failure means "try elsewhere", the deadline leaves room for the pause, and the
upstream's retry budget allows it. A server stream is retried the same way until its first
message; after that its failure is the caller's to see (a stream cannot be replayed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

import grpc

from mesh import context as call_context
from mesh.client.pool import Endpoint, NoHealthyInstance
from mesh.client.upstream import Upstream
from mesh.errors.draining import is_draining
from mesh.resilience.backoff import full_jitter
from mesh.resilience.policy import UNHEALTHY, carries_idempotency_key, retry_floor


class MethodPlan:
    """What is decided once per method, not per call."""

    __slots__ = ("attempts", "key", "kind", "method", "options", "retry_safe")

    def __init__(
        self,
        upstream: Upstream,
        kind: str,
        method: str,
        options: dict[str, Any],
        retry_safe: bool,
    ) -> None:
        self.kind = kind
        self.method = method
        self.options = options
        self.retry_safe = retry_safe
        self.attempts = upstream.retry.attempts_for(method)
        self.key = (kind, method, *options.values())

    def callable_on(self, endpoint: Endpoint) -> Any:
        found = endpoint.callables.get(self.key)
        if found is None:
            found = getattr(endpoint.channel, self.kind)(self.method, **self.options)
            endpoint.callables[self.key] = found
        return found


def unavailable(details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        code=grpc.StatusCode.UNAVAILABLE,
        initial_metadata=grpc.aio.Metadata(),
        trailing_metadata=grpc.aio.Metadata(),
        details=details,
    )


def _deadline_exceeded() -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        code=grpc.StatusCode.DEADLINE_EXCEEDED,
        initial_metadata=grpc.aio.Metadata(),
        trailing_metadata=grpc.aio.Metadata(),
        details="deadline exceeded before the call was made",
    )


def _tell(upstream: Upstream, endpoint: Endpoint, error: grpc.aio.AioRpcError, took: float) -> None:
    # A draining instance is leaving in good order, not failing: no mark against it.
    if error.code() in UNHEALTHY and not is_draining(error):
        upstream.pool.failed(endpoint, took)
    else:
        upstream.pool.neutral(endpoint)


def _retry_pause(
    upstream: Upstream, error: grpc.aio.AioRpcError, retry: int, deadline: float | None
) -> float | None:
    """The pause before retry number `retry` (from 1), or None when it must not be made."""
    floor = retry_floor(error)
    if floor is None:
        return None
    r = upstream.retry
    pause = max(floor, full_jitter(retry - 1, r.base_seconds, r.cap_seconds))
    if deadline is not None and time.monotonic() + pause >= deadline:
        return None
    if not upstream.budget.try_spend():
        upstream.counters.retries_refused += 1
        return None
    upstream.counters.retries += 1
    return pause


class UnaryCall:
    """Awaitable like `grpc.aio.UnaryUnaryCall`; the call starts when first awaited."""

    __slots__ = ("_call", "_cancelled", "_kwargs", "_outcome", "_plan", "_request", "_upstream")

    def __init__(
        self, upstream: Upstream, plan: MethodPlan, request: Any, kwargs: dict[str, Any]
    ) -> None:
        self._upstream = upstream
        self._plan = plan
        self._request = request
        self._kwargs = kwargs
        self._call: grpc.aio.UnaryUnaryCall[Any, Any] | None = None
        self._cancelled = False
        self._outcome: tuple[bool, Any] | None = None

    def __await__(self) -> Generator[Any, None, Any]:
        if self._outcome is None:
            try:
                response = yield from self._run().__await__()
            except grpc.aio.AioRpcError as error:
                self._outcome = (False, error)
                raise
            self._outcome = (True, response)
            return response
        ok, value = self._outcome
        if not ok:
            raise value
        return value

    async def _run(self) -> Any:
        upstream, plan, kwargs = self._upstream, self._plan, self._kwargs
        if not upstream.calls.try_enter():
            raise upstream.shed_error(upstream.calls, "calls")
        try:
            upstream.budget.record_request()
            attempts = plan.attempts
            if attempts > 1 and not plan.retry_safe:
                attempts = attempts if carries_idempotency_key(kwargs.get("metadata")) else 1
            timeout = kwargs.get("timeout")
            if timeout is None:
                timeout = upstream.default_timeout_seconds
            now = time.monotonic()
            deadline = now + timeout
            inbound = call_context.current().deadline
            if inbound is not None and inbound < deadline:
                deadline = inbound
            attempt, avoid = 0, None
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _deadline_exceeded()
                try:
                    endpoint = upstream.pool.pick(avoid)
                except NoHealthyInstance as exc:
                    raise unavailable(str(exc)) from None
                kwargs["timeout"] = remaining
                upstream.pool.started(endpoint)
                started = time.monotonic()
                try:
                    call = plan.callable_on(endpoint)(self._request, **kwargs)
                    self._call = call
                    response = await call
                except grpc.aio.AioRpcError as error:
                    took = time.monotonic() - started
                    _tell(upstream, endpoint, error, took)
                    attempt += 1
                    if attempt >= attempts or self._cancelled:
                        raise
                    pause = _retry_pause(upstream, error, attempt, deadline)
                    if pause is None:
                        raise
                except BaseException:  # cancelled, or a failure that is not an answer
                    upstream.pool.neutral(endpoint)
                    raise
                else:
                    upstream.pool.succeeded(endpoint, time.monotonic() - started)
                    return response
                finally:
                    upstream.pool.ended(endpoint)
                if pause > 0:
                    await asyncio.sleep(pause)
                avoid = endpoint
        finally:
            upstream.calls.leave()

    def cancel(self) -> bool:
        self._cancelled = True
        return self._call.cancel() if self._call is not None else False

    def cancelled(self) -> bool:
        return self._cancelled

    def done(self) -> bool:
        return self._outcome is not None

    async def code(self) -> grpc.StatusCode:
        if self._outcome is not None and not self._outcome[0]:
            return self._outcome[1].code()  # type: ignore[no-any-return]
        assert self._call is not None, "the call has not started"
        return await self._call.code()

    async def details(self) -> str:
        if self._outcome is not None and not self._outcome[0]:
            return self._outcome[1].details()  # type: ignore[no-any-return]
        assert self._call is not None, "the call has not started"
        return await self._call.details()

    async def initial_metadata(self) -> Any:
        assert self._call is not None, "the call has not started"
        return await self._call.initial_metadata()

    async def trailing_metadata(self) -> Any:
        assert self._call is not None, "the call has not started"
        return await self._call.trailing_metadata()


class StreamCall:
    """Reads like `grpc.aio.UnaryStreamCall` (`async for`, `read()`); the first attempt
    starts at once, as grpc's does, so the server sees the request before the first read."""

    __slots__ = (
        "__weakref__",
        "_attempt",
        "_call",
        "_cancelled",
        "_endpoint",
        "_error",
        "_kwargs",
        "_plan",
        "_received",
        "_request",
        "_upstream",
    )

    def __init__(
        self, upstream: Upstream, plan: MethodPlan, request: Any, kwargs: dict[str, Any]
    ) -> None:
        self._upstream = upstream
        self._plan = plan
        self._request = request
        self._kwargs = kwargs
        self._call: Any = None
        self._endpoint: Endpoint | None = None
        self._error: grpc.aio.AioRpcError | None = None
        self._received = False
        self._cancelled = False
        self._attempt = 0
        upstream.budget.record_request()
        self._open(None)

    def _open(self, avoid: Endpoint | None) -> None:
        """Start an attempt; a full bulkhead or no instance is the error the next read
        raises. The attempt holds a bulkhead slot and counts on its instance until grpc says
        it is done, however it ends (read to the end, cancelled, or collected)."""
        upstream = self._upstream
        if not upstream.streams.try_enter():
            self._error = upstream.shed_error(upstream.streams, "streams")
            return
        try:
            endpoint = upstream.pool.pick(avoid)
        except NoHealthyInstance as exc:
            upstream.streams.leave()
            self._error = unavailable(str(exc))
            return
        upstream.pool.started(endpoint)
        ended = _Ended(upstream, endpoint)
        try:
            call = self._plan.callable_on(endpoint)(self._request, **self._kwargs)
        except BaseException:
            ended(None)
            raise
        self._endpoint, self._call = endpoint, call
        call.add_done_callback(ended)

    async def read(self) -> Any:
        while True:
            if self._error is not None:
                raise self._error
            try:
                message = await self._call.read()
            except grpc.aio.AioRpcError as error:
                if self._received or self._endpoint is None:
                    raise
                await self._retry_or_raise(error)
                continue
            except BaseException:
                if not self._received and self._endpoint is not None:
                    self._upstream.pool.neutral(self._endpoint)
                raise
            if message is grpc.aio.EOF:
                if not self._received and self._endpoint is not None:
                    self._received = True
                    self._upstream.pool.succeeded(self._endpoint)
                return message
            if not self._received:
                self._received = True
                assert self._endpoint is not None
                self._upstream.pool.succeeded(self._endpoint)
            return message

    async def _retry_or_raise(self, error: grpc.aio.AioRpcError) -> None:
        upstream, endpoint = self._upstream, self._endpoint
        assert endpoint is not None
        _tell(upstream, endpoint, error, 0.0)
        self._attempt += 1
        retry_safe = self._plan.retry_safe or carries_idempotency_key(self._kwargs.get("metadata"))
        if self._cancelled or not retry_safe or self._attempt >= self._plan.attempts:
            raise error
        if self._kwargs.get("timeout") is not None:
            raise error  # a stream with a deadline is not reopened: its time is spent
        pause = _retry_pause(upstream, error, self._attempt, None)
        if pause is None:
            raise error
        if pause > 0:
            await asyncio.sleep(pause)
        if self._cancelled:
            raise error
        self._open(endpoint)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[Any]:
        while True:
            message = await self.read()
            if message is grpc.aio.EOF:
                return
            yield message

    def cancel(self) -> bool:
        self._cancelled = True
        return bool(self._call.cancel()) if self._call is not None else False

    def cancelled(self) -> bool:
        return self._cancelled

    def done(self) -> bool:
        return self._error is not None or (self._call is not None and self._call.done())

    async def code(self) -> grpc.StatusCode:
        if self._error is not None:
            return self._error.code()
        return await self._call.code()  # type: ignore[no-any-return]

    async def details(self) -> str:
        if self._error is not None:
            return self._error.details() or ""
        return await self._call.details()  # type: ignore[no-any-return]

    async def initial_metadata(self) -> Any:
        if self._error is not None:
            return self._error.initial_metadata()
        return await self._call.initial_metadata()

    async def trailing_metadata(self) -> Any:
        if self._error is not None:
            return self._error.trailing_metadata()
        return await self._call.trailing_metadata()

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        if self._call is not None:
            self._call.add_done_callback(callback)


class _Ended:
    """Counts an attempt's end on its instance and gives back its bulkhead slot, however it
    ends."""

    __slots__ = ("_endpoint", "_upstream")

    def __init__(self, upstream: Upstream, endpoint: Endpoint) -> None:
        self._upstream = upstream
        self._endpoint = endpoint

    def __call__(self, _: Any) -> None:
        self._upstream.pool.ended(self._endpoint)
        self._upstream.streams.leave()
