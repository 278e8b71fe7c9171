"""InstancePool on a fake clock, with fake channels (only `close()` is ever called on a
channel here; real channels would need real servers and add nothing to these decisions):
ejection and its cap, panic, half-open probes, `avoid`, retiring channels with calls in
flight, breakers kept for ejected instances that leave and come back, latency estimates."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any, cast

import grpc
import pytest

from mesh.client.balancing import Candidate, RoundRobin, Strategy
from mesh.client.pool import (
    EWMA_DECAY_SECONDS,
    INITIAL_EWMA_SECONDS,
    Endpoint,
    InstancePool,
    NoHealthyInstance,
)
from mesh.discovery import Instance
from mesh.resilience.config import BreakerConfig
from tests.unit.resilience._clock import FakeClock

BASE = 30.0


class FakeChannel:
    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.closes = 0

    async def close(self, grace: float | None = None) -> None:
        self.closes += 1


class First:
    """Always the first candidate: the pool's own choices (probe, avoid, panic) show plainly."""

    def choose(self, candidates: Sequence[Candidate]) -> int:
        return 0


def _instance(name: str, port: int = 0) -> Instance:
    return Instance(name, "127.0.0.1", port or 7000 + ord(name[-1]))


def _pool(
    names: str = "abc",
    *,
    clock: FakeClock | None = None,
    strategy: Strategy | None = None,
    **breaker: Any,
) -> tuple[InstancePool, FakeClock]:
    clock = clock or FakeClock()
    settings: dict[str, Any] = {"consecutive_failures": 1, "base_ejection_seconds": BASE}
    settings.update(breaker)
    pool = InstancePool(
        "svc",
        lambda instance: cast(grpc.aio.Channel, FakeChannel(instance)),
        strategy or RoundRobin(),
        BreakerConfig(**settings),
        clock=clock,
    )
    pool.update([_instance(n) for n in names])
    return pool, clock


def _endpoint(pool: InstancePool, name: str) -> Endpoint:
    for endpoint in pool._all:
        if endpoint.instance.instance_id == name:
            return endpoint
    raise LookupError(name)


def _channel(endpoint: Endpoint) -> FakeChannel:
    return cast(FakeChannel, endpoint.channel)


def _state(pool: InstancePool, name: str) -> str:
    return next(s.breaker for s in pool.states() if s.instance_id == name)


def _picked(pool: InstancePool, times: int = 60) -> set[str]:
    names = set()
    for _ in range(times):
        endpoint = pool.pick()
        names.add(endpoint.instance.instance_id)
    return names


def _fail(pool: InstancePool, name: str) -> None:
    endpoint = _endpoint(pool, name)
    pool.started(endpoint)
    pool.failed(endpoint)
    pool.ended(endpoint)


# -- ejection ------------------------------------------------------------------------------


def test_every_instance_is_picked_while_healthy() -> None:
    pool, _ = _pool("abc")
    assert _picked(pool) == {"a", "b", "c"}


def test_an_ejected_instance_is_not_picked() -> None:
    pool, _ = _pool("abc")
    _fail(pool, "b")
    assert _state(pool, "b") == "open"
    assert pool.counters.ejections == 1
    assert _picked(pool) == {"a", "c"}


def test_failures_below_the_threshold_do_not_eject() -> None:
    pool, _ = _pool("ab", consecutive_failures=3)
    _fail(pool, "a")
    _fail(pool, "a")
    pool.succeeded(_endpoint(pool, "a"))
    _fail(pool, "a")
    assert _state(pool, "a") == "closed"
    assert _picked(pool) == {"a", "b"}


def test_neutral_outcomes_never_eject() -> None:
    pool, _ = _pool("ab", consecutive_failures=2, minimum_calls=2)
    for _ in range(20):
        pool.neutral(_endpoint(pool, "a"))
    assert _state(pool, "a") == "closed"
    assert pool.counters.ejections == 0


def test_with_two_instances_one_may_be_ejected() -> None:
    pool, _ = _pool("ab")
    _fail(pool, "a")
    _fail(pool, "b")
    assert (_state(pool, "a"), _state(pool, "b")) == ("open", "closed")
    assert pool.counters.ejections == 1
    assert pool.counters.ejections_refused == 1
    assert _picked(pool) == {"b"}


def test_with_one_instance_none_is_ejected() -> None:
    pool, _ = _pool("a")
    for _ in range(5):
        _fail(pool, "a")
    assert _state(pool, "a") == "closed"
    assert pool.counters.ejections == 0
    assert pool.counters.ejections_refused == 5
    assert pool.pick().instance.instance_id == "a"
    assert pool.counters.panics == 0


@pytest.mark.parametrize(("count", "share", "ejected"), [(3, 0.5, 1), (4, 0.5, 2), (5, 0.2, 1)])
def test_the_ejection_cap(count: int, share: float, ejected: int) -> None:
    names = "abcdefgh"[:count]
    pool, _ = _pool(names, max_ejected_share=share)
    for name in names:
        _fail(pool, name)
    assert sum(s.breaker == "open" for s in pool.states()) == ejected
    assert pool.counters.ejections_refused == count - ejected


def test_panic_when_every_instance_is_out() -> None:
    pool, _ = _pool("ab", max_ejected_share=1.0)
    _fail(pool, "a")
    _fail(pool, "b")
    assert {s.breaker for s in pool.states()} == {"open"}
    assert _picked(pool, 20) == {"a", "b"}
    assert pool.counters.panics == 20


def test_no_instance_at_all() -> None:
    pool, _ = _pool("")
    with pytest.raises(NoHealthyInstance) as raised:
        pool.pick()
    assert raised.value.service == "svc"


# -- half-open probes ----------------------------------------------------------------------


def test_no_probe_before_the_interval_has_passed() -> None:
    pool, clock = _pool("ab", strategy=First())
    _fail(pool, "a")
    clock.advance(BASE - 0.1)
    assert _picked(pool, 10) == {"b"}
    assert pool.counters.probes == 0


def test_the_probe_is_routed_once_the_interval_passes() -> None:
    pool, clock = _pool("ab", strategy=First())
    _fail(pool, "b")
    clock.advance(BASE)
    probe = pool.pick()
    assert probe.instance.instance_id == "b"
    assert _state(pool, "b") == "half_open"
    assert pool.counters.probes == 1
    pool.started(probe)
    # One probe at a time: the calls meanwhile go to the ready instance.
    assert _picked(pool, 10) == {"a"}
    pool.succeeded(probe)
    pool.ended(probe)
    assert _state(pool, "b") == "closed"
    assert _picked(pool, 10) == {"a"}  # First: "a" again, but "b" is ready as well
    assert [e.instance.instance_id for e in pool._ready] == ["a", "b"]


def test_a_failed_probe_reopens_for_longer() -> None:
    pool, clock = _pool("ab", strategy=First())
    _fail(pool, "b")
    clock.advance(BASE)
    probe = pool.pick()
    assert probe.instance.instance_id == "b"
    pool.failed(probe)
    assert _state(pool, "b") == "open"
    assert probe.breaker.open_until == clock() + 2 * BASE
    clock.advance(BASE)
    assert _picked(pool, 10) == {"a"}
    clock.advance(BASE)
    assert pool.pick() is probe


def test_a_neutral_probe_lets_another_probe_through() -> None:
    pool, clock = _pool("ab", strategy=First())
    _fail(pool, "b")
    clock.advance(BASE)
    probe = pool.pick()
    pool.neutral(probe)
    assert pool.pick() is probe
    assert pool.counters.probes == 2


def test_a_probe_is_not_sent_to_the_instance_to_avoid() -> None:
    pool, clock = _pool("ab", strategy=First())
    _fail(pool, "b")
    clock.advance(BASE)
    b = _endpoint(pool, "b")
    assert pool.pick(avoid=b).instance.instance_id == "a"
    assert pool.counters.probes == 0
    assert pool.pick() is b


# -- avoid ---------------------------------------------------------------------------------


def test_avoid_is_honoured_while_another_instance_is_ready() -> None:
    pool, _ = _pool("abc")
    a = _endpoint(pool, "a")
    names = {pool.pick(avoid=a).instance.instance_id for _ in range(60)}
    assert names == {"b", "c"}


def test_avoid_is_ignored_when_it_is_the_only_instance() -> None:
    pool, _ = _pool("a")
    a = _endpoint(pool, "a")
    assert pool.pick(avoid=a) is a


def test_avoid_is_ignored_when_the_only_other_instance_is_ejected() -> None:
    pool, _ = _pool("ab")
    _fail(pool, "b")
    a = _endpoint(pool, "a")
    assert pool.pick(avoid=a) is a


# -- discovery: retiring channels and keeping breakers -------------------------------------


async def test_a_channel_without_calls_is_closed_when_its_instance_leaves() -> None:
    pool, _ = _pool("ab")
    a = _endpoint(pool, "a")
    pool.update([_instance("b")])
    await asyncio.sleep(0)  # the close task runs
    assert _channel(a).closes == 1
    assert pool.retired == 0
    assert [i.instance_id for i in pool.instances] == ["b"]
    await pool.close()


async def test_a_retired_channel_is_closed_after_its_calls_in_flight() -> None:
    pool, _ = _pool("ab")
    a = _endpoint(pool, "a")
    pool.started(a)
    pool.started(a)
    pool.update([_instance("b")])
    assert pool.retired == 1
    assert a.retired
    assert _picked(pool, 10) == {"b"}
    pool.succeeded(a)
    pool.ended(a)
    await asyncio.sleep(0)
    assert _channel(a).closes == 0  # one call still in flight
    pool.failed(a)  # its outcome touches nothing but its own breaker
    pool.ended(a)
    for _ in range(3):
        await asyncio.sleep(0)
    assert _channel(a).closes == 1
    assert pool.retired == 0
    await pool.close()
    assert _channel(a).closes == 1


async def test_an_address_change_opens_a_new_channel_and_retires_the_old() -> None:
    pool, _ = _pool("a")
    old = _endpoint(pool, "a")
    pool.started(old)
    pool.update([_instance("a", port=9999)])
    new = _endpoint(pool, "a")
    assert new is not old
    assert new.instance.address == "127.0.0.1:9999"
    assert pool.pick() is new
    assert pool.retired == 1
    pool.ended(old)
    for _ in range(3):
        await asyncio.sleep(0)
    assert (_channel(old).closes, _channel(new).closes) == (1, 0)
    await pool.close()
    assert _channel(new).closes == 1


async def test_close_closes_every_channel_even_with_calls_in_flight() -> None:
    pool, _ = _pool("abc")
    endpoints = list(pool._all)
    pool.started(endpoints[0])
    pool.update([_instance("b"), _instance("c")])  # "a" retired with a call in flight
    await pool.close()
    assert [_channel(e).closes for e in endpoints] == [1, 1, 1]
    assert pool.instances == []
    with pytest.raises(NoHealthyInstance):
        pool.pick()


def test_a_kept_breaker_returns_with_the_instance() -> None:
    pool, clock = _pool("ab", strategy=First())
    _fail(pool, "a")
    pool.update([_instance("b")])  # Consul gave up on the ejected instance
    clock.advance(BASE / 2)
    pool.update([_instance("a"), _instance("b")])
    assert _state(pool, "a") == "open"
    assert _picked(pool, 10) == {"b"}
    clock.advance(BASE / 2)
    assert pool.pick().instance.instance_id == "a"  # its probe, on the original schedule
    assert _state(pool, "a") == "half_open"


def test_a_healthy_instance_that_comes_back_starts_afresh() -> None:
    pool, _ = _pool("ab", consecutive_failures=2)
    a = _endpoint(pool, "a")
    pool.failed(a)  # one failure of two
    pool.update([_instance("b")])
    pool.update([_instance("a"), _instance("b")])
    again = _endpoint(pool, "a")
    assert again.breaker is not a.breaker
    pool.failed(again)
    assert _state(pool, "a") == "closed"


def test_kept_breakers_are_forgotten_after_the_longest_ejection() -> None:
    pool, clock = _pool("ab", max_ejection_seconds=100.0)
    _fail(pool, "a")
    pool.update([_instance("b")])
    clock.advance(BASE + 100.0 + 1.0)
    pool.update([_instance("b")])
    pool.update([_instance("a"), _instance("b")])
    assert _state(pool, "a") == "closed"


def test_a_probe_outcome_on_a_retired_channel_reaches_the_returned_instance() -> None:
    pool, clock = _pool("ab", strategy=First())
    _fail(pool, "b")
    clock.advance(BASE)
    old = pool.pick()
    assert old.instance.instance_id == "b"
    pool.started(old)
    pool.update([_instance("a")])  # "b" leaves while its probe is in flight...
    pool.update([_instance("a"), _instance("b")])  # ...and comes back
    pool.succeeded(old)  # the probe succeeds: "b" is healthy again
    pool.ended(old)
    assert _state(pool, "b") == "closed"
    b = _endpoint(pool, "b")
    assert b in pool._ready
    assert b not in pool._out


# -- load figures --------------------------------------------------------------------------


def test_in_flight_counts() -> None:
    pool, _ = _pool("ab")
    a = _endpoint(pool, "a")
    pool.started(a)
    pool.started(a)
    pool.ended(a)
    assert [(s.instance_id, s.in_flight) for s in pool.states()] == [("a", 1), ("b", 0)]


def test_latency_estimates_follow_the_pool_clock() -> None:
    pool, clock = _pool("a")
    a = _endpoint(pool, "a")
    assert a.ewma_seconds == INITIAL_EWMA_SECONDS
    clock.advance(EWMA_DECAY_SECONDS)
    pool.succeeded(a, 0.001)  # faster: decays towards it, one time constant after the start
    weight = math.exp(-1.0)
    expected = INITIAL_EWMA_SECONDS * weight + 0.001 * (1 - weight)
    assert a.ewma_seconds == pytest.approx(expected)
    pool.succeeded(a, 0.5)  # slower: taken at once
    assert a.ewma_seconds == 0.5
    clock.advance(EWMA_DECAY_SECONDS)
    pool.succeeded(a, 0.1)
    assert a.ewma_seconds == pytest.approx(0.5 * weight + 0.1 * (1 - weight))
    pool.failed(a, 2.0)
    assert a.ewma_seconds == 2.0


def test_states_report_breakers_and_figures() -> None:
    pool, _ = _pool("ab")
    _fail(pool, "a")
    pool.succeeded(_endpoint(pool, "b"), 0.25)
    states = pool.states()
    assert [(s.instance_id, s.address, s.breaker, s.ejections) for s in states] == [
        ("a", "127.0.0.1:7097", "open", 1),
        ("b", "127.0.0.1:7098", "closed", 0),
    ]
    assert states[1].latency_ms == 250.0


# -- outcomes that never come --------------------------------------------------------------


def test_a_call_on_a_retired_channel_does_not_count_as_an_ejection() -> None:
    pool, _ = _pool("abc")
    a = _endpoint(pool, "a")
    pool.started(a)
    pool.update([_instance("b"), _instance("c")])
    pool.failed(a)  # the instance that left failed its last call
    pool.ended(a)
    assert pool.counters.ejections == 0
    _fail(pool, "b")  # the one ejection the cap allows is still there for the others
    assert _state(pool, "b") == "open"


def test_a_probe_whose_caller_never_reports_is_given_up() -> None:
    pool, clock = _pool("ab", strategy=First())
    _fail(pool, "b")
    clock.advance(BASE)
    b = pool.pick()
    assert b.instance.instance_id == "b"  # the probe, then the caller gives up before the call
    clock.advance(BASE - 0.1)
    assert pool.pick().instance.instance_id == "a"
    clock.advance(0.1)
    assert pool.pick() is b
    assert pool.counters.probes == 2


def test_a_fast_failure_does_not_make_an_instance_look_faster() -> None:
    pool, clock = _pool("ab", consecutive_failures=100)
    a = _endpoint(pool, "a")
    pool.succeeded(a, 0.2)
    clock.advance(EWMA_DECAY_SECONDS)
    pool.failed(a, 0.0001)  # refused at once: no sign of speed
    assert a.ewma_seconds == pytest.approx(0.2)
    pool.failed(a, 0.5)  # a slow failure still counts as slow
    assert a.ewma_seconds == 0.5


class SlowChannel(FakeChannel):
    """A channel whose close takes until the test lets it finish."""

    release = asyncio.Event()

    async def close(self, grace: float | None = None) -> None:
        await self.release.wait()
        self.closes += 1


async def test_close_waits_for_channels_still_closing() -> None:
    SlowChannel.release = asyncio.Event()
    pool = InstancePool(
        "svc",
        lambda instance: cast(grpc.aio.Channel, SlowChannel(instance)),
        RoundRobin(),
        BreakerConfig(),
    )
    pool.update([_instance("a"), _instance("b")])
    a = _endpoint(pool, "a")
    pool.update([_instance("b")])  # "a" starts closing
    closing = asyncio.create_task(pool.close())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not closing.done()
    SlowChannel.release.set()
    await asyncio.wait_for(closing, timeout=5.0)
    assert _channel(a).closes == 1


async def test_a_cancelled_close_leaves_no_task_behind() -> None:
    SlowChannel.release = asyncio.Event()
    pool = InstancePool(
        "svc",
        lambda instance: cast(grpc.aio.Channel, SlowChannel(instance)),
        RoundRobin(),
        BreakerConfig(),
    )
    pool.update([_instance("a")])
    pool.update([])
    closing = asyncio.create_task(pool.close())
    await asyncio.sleep(0)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    SlowChannel.release.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert not pool._closing


def test_registered_but_failing_instances_are_called_when_none_passes() -> None:
    pool, _ = _pool("ab")
    pool.update([], failing=[_instance("b")])
    assert [i.instance_id for i in pool.instances] == ["b"]
    assert _picked(pool, 4) == {"b"}
    assert pool.counters.panics == 1


def test_failing_instances_are_ignored_while_one_passes() -> None:
    pool, _ = _pool("ab")
    pool.update([_instance("a")], failing=[_instance("b")])
    assert _picked(pool, 4) == {"a"}
