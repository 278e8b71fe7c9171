"""A steady, bounded HTTP load for fault-injection tests: requests sent on a fixed-rate
schedule with at most `max_in_flight` outstanding, for at most `max_duration_seconds`, each
recorded with its start time, HTTP status and latency; and the counts the tests judge by
(failures in a window, recovery time after a fault), printed as one line per fault."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import aiohttp

# The driver's own bound on one request: far above any deadline the edge gives its calls, so
# an answer the edge is late with is still recorded with its real status.
REQUEST_TIMEOUT_SECONDS = 15.0
NO_ANSWER = 0  # the status of a request that got no HTTP answer (refused, reset, timed out)
DETAIL_CHARS = 160
KIND_CHARS = 80  # of a failure's detail, to group failures by in a figure


@dataclass(frozen=True)
class Target:
    """One kind of request: `label` names it in figures (the service it reaches)."""

    label: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    """One request: when it was sent (time.monotonic()), its HTTP status, how long it took,
    and for a failure the start of its answer (or of the client error)."""

    label: str
    started: float
    status: int
    latency: float
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status != 200

    @property
    def ended(self) -> float:
        return self.started + self.latency


@dataclass(frozen=True)
class LoadConfig:
    rate_per_second: float = 40.0
    max_in_flight: int = 32
    max_duration_seconds: float = 120.0

    def __post_init__(self) -> None:
        if self.rate_per_second <= 0 or self.max_in_flight < 1 or self.max_duration_seconds <= 0:
            raise ValueError(f"a load needs a positive rate, slots and duration: {self}")


class Load:
    """`async with Load(targets, config).running() as load:` sends the targets in turn until
    the block ends (or the duration bound passes), then waits for what is in flight; a block
    left by an exception (a failed assertion, a cancelled test) cancels what is in flight."""

    def __init__(self, targets: Sequence[Target], config: LoadConfig | None = None) -> None:
        if not targets:
            raise ValueError("a load needs at least one target")
        self.targets = tuple(targets)
        self.config = config or LoadConfig()
        self.samples: list[Sample] = []
        self._stop = asyncio.Event()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Load]:
        self._stop.clear()
        connector = aiohttp.TCPConnector(limit=self.config.max_in_flight)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            driver = asyncio.create_task(self._drive(session))
            try:
                yield self
            except BaseException:
                driver.cancel()
                await asyncio.gather(driver, return_exceptions=True)
                raise
            self._stop.set()
            await driver

    async def _drive(self, session: aiohttp.ClientSession) -> None:
        slots = asyncio.Semaphore(self.config.max_in_flight)
        in_flight: set[asyncio.Task[None]] = set()
        period = 1.0 / self.config.rate_per_second
        began = time.monotonic()
        n = 0
        try:
            while time.monotonic() - began < self.config.max_duration_seconds:
                # The schedule is fixed: a request held back for a slot does not move the next.
                delay = began + n * period - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay)
                if self._stop.is_set():
                    break
                await slots.acquire()
                task = asyncio.create_task(self._one(session, self.targets[n % len(self.targets)]))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                task.add_done_callback(lambda _: slots.release())
                n += 1
        except asyncio.CancelledError:
            for task in in_flight:
                task.cancel()
            raise
        finally:
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _one(self, session: aiohttp.ClientSession, target: Target) -> None:
        started = time.monotonic()
        detail = ""
        try:
            async with session.get(target.url, headers=dict(target.headers)) as response:
                body = await response.read()
                status = response.status
                if status != 200:
                    detail = body[:DETAIL_CHARS].decode(errors="replace")
        except (aiohttp.ClientError, TimeoutError) as error:
            status, detail = NO_ANSWER, repr(error)[:DETAIL_CHARS]
        took = time.monotonic() - started
        self.samples.append(Sample(target.label, started, status, took, detail))


def between(samples: Iterable[Sample], start: float, end: float = float("inf")) -> list[Sample]:
    """The samples sent in [start, end)."""
    return [s for s in samples if start <= s.started < end]


def ended_before(samples: Iterable[Sample], at: float) -> list[Sample]:
    """The samples answered before `at` (untouched by a fault at `at`)."""
    return [s for s in samples if s.ended < at]


def since(samples: Iterable[Sample], at: float) -> list[Sample]:
    """The samples a fault at `at` may touch: in flight at `at`, or sent after it."""
    return [s for s in samples if s.ended >= at]


def failures(samples: Iterable[Sample], start: float = 0.0, end: float = float("inf")) -> int:
    return sum(1 for s in between(samples, start, end) if s.failed)


def recovery_seconds(samples: Iterable[Sample], fault_at: float) -> float:
    """From the fault to the sending of the last request that failed after it (0 when none
    did, or only requests sent before it)."""
    failed = [s.started for s in since(samples, fault_at) if s.failed]
    return max(0.0, max(failed) - fault_at) if failed else 0.0


def statuses(samples: Iterable[Sample], start: float = 0.0) -> dict[str, int]:
    """How many of each (label, status, and a failure's detail): for assertion messages;
    failures also say when they were sent, in seconds after `start`."""
    counts = Counter(
        f"{s.label}:{s.status}" + (f" at +{s.started - start:.1f}s {s.detail}" if s.failed else "")
        for s in samples
    )
    return dict(sorted(counts.items()))


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(name: str, samples: Sequence[Sample], fault_at: float, extra: str = "") -> str:
    """Print the fault's figure, with its commonest kinds of failure, and append it to
    `$TRADEMESH_FAULTS_REPORT` when set."""
    line = (
        f"FAULT {name}: failed {failures(samples)} of {len(samples)} requests, "
        f"recovery {recovery_seconds(samples, fault_at):.1f} s"
    )
    if extra:
        line += f" ({extra})"
    kinds = Counter(f"{s.label} {s.status} {s.detail[:KIND_CHARS]}" for s in samples if s.failed)
    if kinds:
        line += "; " + "; ".join(f"{n} x {kind}" for kind, n in kinds.most_common(5))
    print(line)
    path = os.environ.get("TRADEMESH_FAULTS_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")
    return line
