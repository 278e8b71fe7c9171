"""The instances of one upstream service: a channel, a circuit breaker and load figures each.

`pick()` is the hot path: with every breaker closed it is a strategy choice over a ready
list. Ejected instances leave that list; once an ejection has run its time, the next call is
sent to the instance as a half-open probe, and its outcome closes or reopens the breaker.
Discovery (`update()`) opens channels to new instances and retires those of instances that
left: a retired channel takes no new calls and is closed once its calls in flight have
ended, so no stream is cut because Consul changed its mind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc

from mesh.client.balancing import Strategy, peak_ewma
from mesh.discovery import Instance
from mesh.resilience.breaker import CLOSED, CircuitBreaker
from mesh.resilience.config import BreakerConfig
from mesh.resilience.window import Clock

log = logging.getLogger(__name__)

ChannelFactory = Callable[[Instance], grpc.aio.Channel]

# A new instance's latency estimate, until it answers: modest, so it gets tried at once
# without being flooded on the strength of no evidence.
INITIAL_EWMA_SECONDS = 0.01
EWMA_DECAY_SECONDS = 10.0


class NoHealthyInstance(Exception):
    def __init__(self, service: str) -> None:
        super().__init__(f"no healthy instance of {service!r} in Consul")
        self.service = service


class Endpoint:
    """One instance as the client sees it. `callables` caches the grpc multicallables made
    on its channel, by (kind, method, serializers)."""

    __slots__ = (
        "_ewma_stamp",
        "breaker",
        "callables",
        "channel",
        "ewma_seconds",
        "in_flight",
        "instance",
        "retired",
    )

    def __init__(
        self, instance: Instance, channel: grpc.aio.Channel, breaker: CircuitBreaker, now: float
    ) -> None:
        self.instance = instance
        self.channel = channel
        self.breaker = breaker
        self.in_flight = 0
        self.ewma_seconds = INITIAL_EWMA_SECONDS
        self._ewma_stamp = now  # on the pool's clock, which `observe()` is given
        self.callables: dict[tuple[object, ...], object] = {}
        self.retired = False

    def observe(self, seconds: float, now: float) -> None:
        self.ewma_seconds = peak_ewma(
            self.ewma_seconds, seconds, now - self._ewma_stamp, EWMA_DECAY_SECONDS
        )
        self._ewma_stamp = now


@dataclass(frozen=True)
class InstanceState:
    instance_id: str
    address: str
    breaker: str
    in_flight: int
    ejections: int
    latency_ms: float


@dataclass
class PoolCounters:
    """Plain counters read by the metrics collector at scrape time (nothing on the hot path
    but an integer add)."""

    ejections: int = 0
    ejections_refused: int = 0  # the ejection cap kept an instance in
    probes: int = 0
    panics: int = 0  # every instance ejected: calls went to them anyway


class InstancePool:
    def __init__(
        self,
        service: str,
        factory: ChannelFactory,
        strategy: Strategy,
        breaker: BreakerConfig,
        clock: Clock = time.monotonic,
    ) -> None:
        self.service = service
        self._factory = factory
        self._strategy = strategy
        self._breaker_config = breaker
        self._clock = clock
        self._endpoints: dict[str, Endpoint] = {}
        self._ready: list[Endpoint] = []  # closed breakers, in instance id order
        self._all: list[Endpoint] = []
        self._out: list[Endpoint] = []  # open or half-open breakers
        self._kept: dict[str, CircuitBreaker] = {}  # breakers of ejected instances that left
        self._retired: set[Endpoint] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self.counters = PoolCounters()

    # -- discovery -----------------------------------------------------------------------

    def update(self, instances: list[Instance], failing: Sequence[Instance] = ()) -> None:
        """Open channels to new instances, retire those of instances that left. When no
        instance passes its checks but some are still registered (`failing`: a check that
        timed out on a busy host, say), calls go to those rather than nowhere; an instance
        that deregistered is gone for good."""
        if not instances and failing:
            log.warning(
                "%s: no instance passes its Consul checks; calling the %d registered anyway",
                self.service,
                len(failing),
            )
            self.counters.panics += 1
            instances = list(failing)
        wanted = {i.instance_id: i for i in instances}
        for instance_id in list(self._endpoints):
            endpoint = self._endpoints[instance_id]
            if (
                instance_id not in wanted
                or wanted[instance_id].address != endpoint.instance.address
            ):
                del self._endpoints[instance_id]
                if endpoint.breaker.state is not CLOSED:
                    # Back soon (a paused process Consul gave up on): it returns still ejected.
                    self._kept[instance_id] = endpoint.breaker
                self._retire(endpoint)
        now = self._clock()
        for instance_id, instance in wanted.items():
            if instance_id not in self._endpoints:
                breaker = self._kept.pop(instance_id, None) or CircuitBreaker(
                    self._breaker_config, self._clock
                )
                self._endpoints[instance_id] = Endpoint(
                    instance, self._factory(instance), breaker, now
                )
        horizon = self._breaker_config.max_ejection_seconds
        for instance_id, breaker in list(self._kept.items()):
            if now - breaker.open_until > horizon:
                del self._kept[instance_id]
        self._relist()
        log.info(
            "%s: %d healthy instance(s): %s",
            self.service,
            len(self._all),
            ", ".join(e.instance.address for e in self._all) or "-",
        )

    def _relist(self) -> None:
        self._all = [self._endpoints[i] for i in sorted(self._endpoints)]
        self._ready = [e for e in self._all if e.breaker.state is CLOSED]
        self._out = [e for e in self._all if e.breaker.state is not CLOSED]

    # -- the hot path --------------------------------------------------------------------

    def pick(self, avoid: Endpoint | None = None, *, probe: bool = True) -> Endpoint:
        """The instance for the next call (not `avoid`, the one a retry failed on, while
        another is ready). Raises NoHealthyInstance when Consul knows none. A call whose
        outcome will not be told (`probe=False`: client and bidi streams) is never sent to
        an ejected instance as its probe."""
        if probe and self._out:
            probed = self._probe(avoid)
            if probed is not None:
                return probed
        ready = self._ready
        if avoid is not None and len(ready) > 1:
            ready = [e for e in ready if e is not avoid] or ready
        if not ready:
            if not self._all:
                raise NoHealthyInstance(self.service)
            # Every instance is ejected: the breakers are likelier wrong than all of them.
            self.counters.panics += 1
            ready = self._all
        return ready[self._strategy.choose(ready)]

    def _probe(self, avoid: Endpoint | None) -> Endpoint | None:
        now = self._clock()
        for endpoint in self._out:
            breaker = endpoint.breaker
            if breaker.probe_due(now):
                breaker.half_open()
            if endpoint is not avoid and breaker.try_probe():
                self.counters.probes += 1
                return endpoint
        return None

    def started(self, endpoint: Endpoint) -> None:
        endpoint.in_flight += 1

    def ended(self, endpoint: Endpoint) -> None:
        endpoint.in_flight -= 1
        if endpoint.in_flight <= 0 and endpoint.retired:
            self._close_soon(endpoint)

    def succeeded(self, endpoint: Endpoint, seconds: float | None = None) -> None:
        breaker = endpoint.breaker
        was = breaker.state
        breaker.success()
        if breaker.state is not was:
            self._transition(endpoint)
        if seconds is not None:
            endpoint.observe(seconds, self._clock())

    def failed(self, endpoint: Endpoint, seconds: float | None = None) -> None:
        """A failure that says the instance is unhealthy (see `mesh.resilience.policy`)."""
        breaker = endpoint.breaker
        was = breaker.state
        if breaker.failure():
            if was is CLOSED and endpoint.retired:
                pass  # the instance has left, and a closed breaker leaves with it
            elif was is CLOSED and not self._may_eject():
                self.counters.ejections_refused += 1
                breaker.consecutive = 0
            else:
                breaker.open()
                self.counters.ejections += 1
                log.warning(
                    "%s: ejected %s (%s) for %.0f s after %s",
                    self.service,
                    endpoint.instance.instance_id,
                    endpoint.instance.address,
                    breaker.open_until - self._clock(),
                    "a failed probe" if was is not CLOSED else "failures",
                )
        if breaker.state is not was:
            self._transition(endpoint)
        if seconds is not None:
            # A failure may say the instance is slow, never that it is fast: one that refuses
            # calls at once must not look like the quickest to peak EWMA and draw more of them.
            endpoint.observe(max(seconds, endpoint.ewma_seconds), self._clock())

    def neutral(self, endpoint: Endpoint) -> None:
        """A call whose end says nothing about the instance (cancelled by its caller, or an
        answer such as NOT_FOUND)."""
        endpoint.breaker.neutral()

    def _may_eject(self) -> bool:
        allowed = int(len(self._all) * self._breaker_config.max_ejected_share)
        return len(self._out) < allowed

    def _transition(self, endpoint: Endpoint) -> None:
        if endpoint.breaker.state is CLOSED:
            log.info("%s: %s is back in", self.service, endpoint.instance.instance_id)
        current = self._endpoints.get(endpoint.instance.instance_id)
        # A retired endpoint may share its kept breaker with the instance's new endpoint (a
        # probe in flight while the instance left and came back): its outcome moves that one.
        if current is not None and current.breaker is endpoint.breaker:
            self._relist()

    # -- retiring and closing ------------------------------------------------------------

    def _retire(self, endpoint: Endpoint) -> None:
        endpoint.retired = True
        if endpoint.in_flight > 0:
            self._retired.add(endpoint)
        else:
            self._close_soon(endpoint)

    def _close_soon(self, endpoint: Endpoint) -> None:
        self._retired.discard(endpoint)
        endpoint.callables.clear()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a call collected after its loop closed; nothing to close on
            return
        task = loop.create_task(endpoint.channel.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Close every channel, cancelling the calls still in flight."""
        endpoints = [*self._all, *self._retired]
        self._endpoints.clear()
        self._retired.clear()
        self._all, self._ready, self._out = [], [], []
        await asyncio.gather(*(e.channel.close() for e in endpoints), *self._closing)

    # -- what operators see --------------------------------------------------------------

    @property
    def instances(self) -> list[Instance]:
        return [e.instance for e in self._all]

    @property
    def retired(self) -> int:
        """Channels of instances that left, still open for the calls in flight on them."""
        return len(self._retired)

    def states(self) -> list[InstanceState]:
        return [
            InstanceState(
                e.instance.instance_id,
                e.instance.address,
                e.breaker.state.value,
                e.in_flight,
                e.breaker.times_opened,
                round(e.ewma_seconds * 1000, 3),
            )
            for e in self._all
        ]
