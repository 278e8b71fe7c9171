"""Round-robin over the healthy instances of one service, one gRPC channel per instance.

The balancer is the seam for resilience: retries, per-instance circuit breakers and bulkheads
wrap `pick()` and the per-instance channels without changing the stubs that sit on top.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from typing import Any

import grpc

from mesh.discovery import Instance

log = logging.getLogger(__name__)

ChannelFactory = Callable[[Instance], grpc.aio.Channel]


class NoHealthyInstance(Exception):
    def __init__(self, service: str) -> None:
        super().__init__(f"no healthy instance of {service!r} in Consul")
        self.service = service


class RoundRobin:
    """Picks the next healthy instance for each call and counts the calls in flight on each
    channel.

    The channel of an instance that left is retired: it takes no new calls and is closed once
    its calls in flight have ended. A stream is never cut because discovery changed; it ends
    when the server ends it (a draining server does, within its grace period) or when the
    connection dies (keepalive), with that status.
    """

    def __init__(self, service: str, factory: ChannelFactory) -> None:
        self.service = service
        self._factory = factory
        self._channels: dict[str, tuple[Instance, grpc.aio.Channel]] = {}
        self._order: list[str] = []
        self._cycle: itertools.cycle[str] = itertools.cycle(())
        self._in_flight: dict[grpc.aio.Channel, int] = {}
        self._retired: set[grpc.aio.Channel] = set()
        self._closing: set[asyncio.Task[None]] = set()

    def update(self, instances: list[Instance]) -> None:
        """Open channels to new instances, retire those of instances that left."""
        wanted = {i.instance_id: i for i in instances}
        for instance_id in list(self._channels):
            old, channel = self._channels[instance_id]
            if instance_id not in wanted or wanted[instance_id].address != old.address:
                del self._channels[instance_id]
                self._retire(channel)
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

    def started(self, channel: grpc.aio.Channel, call: grpc.aio.Call) -> None:
        """Count `call`, made on `channel`, as in flight until it ends."""
        self._in_flight[channel] = self._in_flight.get(channel, 0) + 1

        def ended(_: Any) -> None:
            self._ended(channel)

        call.add_done_callback(ended)

    @property
    def instances(self) -> list[Instance]:
        return [self._channels[i][0] for i in self._order]

    @property
    def retired(self) -> int:
        """Channels of instances that left, still open for the calls in flight on them."""
        return len(self._retired)

    def _ended(self, channel: grpc.aio.Channel) -> None:
        count = self._in_flight.get(channel, 0) - 1
        if count > 0:
            self._in_flight[channel] = count
            return
        self._in_flight.pop(channel, None)
        if channel in self._retired:
            self._close_soon(channel)

    def _retire(self, channel: grpc.aio.Channel) -> None:
        if self._in_flight.get(channel, 0) > 0:
            self._retired.add(channel)
        else:
            self._close_soon(channel)

    def _close_soon(self, channel: grpc.aio.Channel) -> None:
        self._retired.discard(channel)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a call collected after its loop closed; nothing to close on
            return
        task = loop.create_task(channel.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Close every channel, cancelling the calls still in flight."""
        channels = [c for _, c in self._channels.values()] + list(self._retired)
        self._channels.clear()
        self._retired.clear()
        self._in_flight.clear()
        self._order = []
        await asyncio.gather(*(c.close() for c in channels), *self._closing)
