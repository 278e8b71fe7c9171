"""Round-robin over the healthy instances of one service, one gRPC channel per instance.

The balancer is the seam for resilience: retries, per-instance circuit breakers and bulkheads
wrap `pick()` and the per-instance channels without changing the stubs that sit on top.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable

import grpc

from mesh.discovery import Instance

log = logging.getLogger(__name__)

ChannelFactory = Callable[[Instance], grpc.aio.Channel]


class NoHealthyInstance(Exception):
    def __init__(self, service: str) -> None:
        super().__init__(f"no healthy instance of {service!r} in Consul")
        self.service = service


class RoundRobin:
    """`close_grace_seconds` is how long calls in flight to an instance that left may finish
    before its channel cancels them."""

    def __init__(
        self, service: str, factory: ChannelFactory, *, close_grace_seconds: float = 5.0
    ) -> None:
        self.service = service
        self._factory = factory
        self._close_grace_seconds = close_grace_seconds
        self._channels: dict[str, tuple[Instance, grpc.aio.Channel]] = {}
        self._order: list[str] = []
        self._cycle: itertools.cycle[str] = itertools.cycle(())
        self._closing: set[asyncio.Task[None]] = set()

    def update(self, instances: list[Instance]) -> None:
        """Open channels to new instances, close those of instances that left."""
        wanted = {i.instance_id: i for i in instances}
        for instance_id in list(self._channels):
            old, channel = self._channels[instance_id]
            if instance_id not in wanted or wanted[instance_id].address != old.address:
                del self._channels[instance_id]
                closing = channel.close(grace=self._close_grace_seconds)
                task = asyncio.get_running_loop().create_task(closing)
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        for instance_id, instance in wanted.items():
            if instance_id not in self._channels:
                self._channels[instance_id] = (instance, self._factory(instance))
        self._order = sorted(self._channels)
        self._cycle = itertools.cycle(self._order)
        log.info(
            "%s: %d healthy instance(s): %s",
            self.service,
            len(self._order),
            ", ".join(self._channels[i][0].address for i in self._order) or "-",
        )

    def pick(self) -> tuple[Instance, grpc.aio.Channel]:
        if not self._order:
            raise NoHealthyInstance(self.service)
        return self._channels[next(self._cycle)]

    @property
    def instances(self) -> list[Instance]:
        return [self._channels[i][0] for i in self._order]

    async def close(self) -> None:
        channels = [c for _, c in self._channels.values()]
        self._channels.clear()
        self._order = []
        await asyncio.gather(*(c.close() for c in channels), *self._closing)
