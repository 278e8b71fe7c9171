"""HTTP RED metrics of the edge: requests by method, route template and status, their
duration, and how many are in flight."""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.http.scope import UNMATCHED, route_template

# Anything else a client sends as a method is one label value, not one each.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"
# nginx's code for a client that went away before the answer.
CLIENT_CLOSED = "499"


@dataclass(frozen=True)
class HttpMetrics:
    requests: Counter
    duration: Histogram
    in_flight: Gauge
    # Children by label values: `.labels()` takes a lock and builds a key on every call.
    _children: dict[tuple[str, ...], Any] = field(default_factory=dict, compare=False)

    @classmethod
    def create(cls, registry: CollectorRegistry) -> HttpMetrics:
        return cls(
            requests=Counter(
                "http_requests_total",
                "HTTP requests answered by the edge.",
                ("method", "route", "code"),
                registry=registry,
            ),
            duration=Histogram(
                "http_request_duration_seconds",
                "Time from a request's arrival until its answer is complete.",
                ("method", "route"),
                registry=registry,
            ),
            in_flight=Gauge(
                "http_requests_in_flight",
                "HTTP requests the edge is answering right now.",
                registry=registry,
            ),
        )

    def observe(self, method: str, route: str, code: str, seconds: float) -> None:
        key = (method, route, code)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(method, route, code),
                self.duration.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)


_metrics: weakref.WeakKeyDictionary[CollectorRegistry, HttpMetrics] = weakref.WeakKeyDictionary()


def http_metrics(registry: CollectorRegistry = REGISTRY) -> HttpMetrics:
    """The one set of HTTP metrics of `registry` (a registry refuses a name twice)."""
    metrics = _metrics.get(registry)
    if metrics is None:
        metrics = _metrics[registry] = HttpMetrics.create(registry)
    return metrics


class MetricsMiddleware:
    """Labels each request by its route template (see `edge.http.scope`), "unmatched" when
    no route took it; the code is the answer's status, 500 when the app failed before
    answering, 499 when the client went away first."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry = REGISTRY) -> None:
        self.app = app
        self.metrics = http_metrics(registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = ""

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        method = scope["method"] if scope["method"] in KNOWN_METHODS else OTHER_METHOD
        started = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_status)
        except asyncio.CancelledError:
            status = status or CLIENT_CLOSED
            raise
        except BaseException:
            status = status or "500"
            raise
        finally:
            self.metrics.in_flight.dec()
            self.metrics.observe(
                method,
                route_template(scope) or UNMATCHED,
                status or CLIENT_CLOSED,
                time.perf_counter() - started,
            )
