"""`MeshClient.connect("portfolio")`: discover, balance and call another service over mTLS."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, TypeVar

import grpc

from mesh.client.channel import BalancedChannel
from mesh.client.config import ClientConfig
from mesh.client.interceptors import ClientInterceptorConfig, client_interceptors
from mesh.client.metrics import live_clients
from mesh.client.upstream import Upstream, UpstreamState
from mesh.discovery import ConsulClient, HealthWatcher, Instance
from mesh.lifecycle import Lifecycle
from mesh.tls import ServiceCredentials, channel_options

log = logging.getLogger(__name__)

StubT = TypeVar("StubT")


def instance_channel(
    address: str,
    *,
    service: str,
    credentials: ServiceCredentials | None,
    interceptors: Sequence[grpc.aio.ClientInterceptor],
) -> grpc.aio.Channel:
    """The channel to one instance of `service`: mTLS checking that the peer is `service`
    (plaintext when `credentials` is None), with `interceptors` around every call."""
    options: list[tuple[str, Any]] = [("grpc.keepalive_time_ms", 30_000)]
    if credentials is None:
        return grpc.aio.insecure_channel(address, options=options, interceptors=interceptors)
    return grpc.aio.secure_channel(
        address,
        credentials.channel_credentials(),
        options=[*options, *channel_options(service)],
        interceptors=interceptors,
    )


class _Watched:
    def __init__(self, watcher: HealthWatcher, channel: BalancedChannel) -> None:
        self.watcher = watcher
        self.channel = channel
        self.upstream = channel.upstream


class MeshClient(Lifecycle):
    """One per process. Watches each upstream it is asked for and keeps its channels current."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        credentials: ServiceCredentials | None,
        interceptors: Sequence[grpc.aio.ClientInterceptor] | None = None,
    ) -> None:
        """`interceptors` default to the standard client chain (`client_interceptors`):
        correlation id, user token and remaining deadline propagated from the current call,
        client metrics, tracing; it sees calls and streams of every kind."""
        if credentials is None and not config.plaintext:
            raise ValueError("mTLS credentials are required unless plaintext is configured")
        self.config = config
        self._credentials = credentials
        if interceptors is None:
            interceptors = client_interceptors(ClientInterceptorConfig())
        self._interceptors = list(interceptors)
        self._consul = ConsulClient(config.consul_address)
        self._upstreams: dict[str, _Watched] = {}
        self._lock = asyncio.Lock()

    def _open(self, service: str, instance: Instance) -> grpc.aio.Channel:
        return instance_channel(
            instance.address,
            service=service,
            credentials=self._credentials,
            interceptors=self._interceptors,
        )

    async def connect(self, service: str) -> BalancedChannel:
        """A channel for `service`'s stubs; waits for Consul's first answer about it."""
        async with self._lock:
            upstream = self._upstreams.get(service)
            if upstream is None:
                channel = BalancedChannel(
                    Upstream(service, lambda inst: self._open(service, inst), self.config)
                )
                watcher = HealthWatcher(
                    self._consul,
                    service,
                    wait_seconds=self.config.discovery_wait_seconds,
                    on_change=channel.upstream.pool.update,
                )
                upstream = _Watched(watcher, channel)
                self._upstreams[service] = upstream
                live_clients.add(self)
                await watcher.start()
        await upstream.watcher.wait_ready(self.config.first_discovery_timeout_seconds)
        return upstream.channel

    async def stub(self, stub_class: type[StubT], service: str) -> StubT:
        return stub_class(await self.connect(service))  # type: ignore[call-arg]

    def instances(self, service: str) -> list[Instance]:
        upstream = self._upstreams.get(service)
        return [] if upstream is None else upstream.upstream.pool.instances

    def upstream_states(self) -> list[UpstreamState]:
        """Each upstream asked for so far: its instances with their breakers, its retries,
        budget and bulkheads, as operators see them."""
        return [w.upstream.state() for w in self._upstreams.values()]

    async def wait_for_instances(
        self, service: str, count: int = 1, timeout_seconds: float = 30.0
    ) -> list[Instance]:
        await self.connect(service)
        watcher = self._upstreams[service].watcher
        return await watcher.wait_for(lambda found: len(found) >= count, timeout_seconds)

    async def start(self) -> None:
        """Nothing to do up front: upstreams are watched on first use."""

    async def stop(self) -> None:
        upstreams, self._upstreams = list(self._upstreams.values()), {}
        for upstream in upstreams:
            await upstream.watcher.stop()
            await upstream.upstream.pool.close()
        await self._consul.close()
