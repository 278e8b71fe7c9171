"""Keep a service's healthy instances current with Consul blocking queries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

from mesh.discovery.consul import ConsulClient, ConsulError
from mesh.discovery.registration import Instance
from mesh.lifecycle import Lifecycle

log = logging.getLogger(__name__)


class HealthWatcher(Lifecycle):
    """`instances` is the latest passing set and `failing` the instances registered but
    failing a check; `on_change(passing, failing)` runs whenever either changes."""

    def __init__(
        self,
        consul: ConsulClient,
        service: str,
        *,
        wait_seconds: float = 30.0,
        on_change: Callable[[list[Instance], list[Instance]], None] | None = None,
    ) -> None:
        self.consul = consul
        self.service = service
        self.wait_seconds = wait_seconds
        self.instances: list[Instance] = []
        self.failing: list[Instance] = []
        self._on_change = on_change
        self._task: asyncio.Task[None] | None = None
        self._first = asyncio.Event()
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"watch-{self.service}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_ready(self, timeout_seconds: float) -> list[Instance]:
        """Wait for the first answer from Consul (which may be an empty set)."""
        await asyncio.wait_for(self._first.wait(), timeout_seconds)
        return self.instances

    async def wait_for(
        self, predicate: Callable[[list[Instance]], bool], timeout_seconds: float
    ) -> list[Instance]:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: predicate(self.instances)), timeout_seconds
            )
        return self.instances

    async def _run(self) -> None:
        index = 0
        failures = 0
        while True:
            try:
                new_index, instances, failing = await self.consul.registered(
                    self.service, index=index, wait_seconds=self.wait_seconds
                )
                failures = 0
            except ConsulError as exc:
                failures += 1
                delay = min(10.0, 0.2 * 2**failures) * random.uniform(0.5, 1.0)
                log.warning("watching %s failed (%s); retrying in %.1fs", self.service, exc, delay)
                await asyncio.sleep(delay)
                continue
            # Consul's rule: reset when the index goes backwards; never block on index 0.
            index = 0 if new_index < index else max(new_index, 1)
            await self._publish(instances, failing)

    async def _publish(self, instances: list[Instance], failing: list[Instance]) -> None:
        changed = instances != self.instances or failing != self.failing or not self._first.is_set()
        self.instances = instances
        self.failing = failing
        self._first.set()
        if changed:
            if self._on_change is not None:
                self._on_change(instances, failing)
            async with self._changed:
                self._changed.notify_all()
