"""Which mesh services Consul knows and how their health checks stand, kept current with
blocking queries on Consul's list of checks.

A mesh service is one registered with a gRPC health check: `mesh.discovery.Registration`
gives every `MeshServer` one, while Consul itself, the edge and other HTTP services carry none.
Checks rather than the catalog's service list are watched because the catalog's index does
not move when an instance's check turns passing, which is when its reflection can be read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mesh.discovery import ConsulClient, ConsulError
from mesh.lifecycle import Lifecycle

log = logging.getLogger(__name__)

PASSING = "passing"


@dataclass(frozen=True)
class MeshService:
    """A mesh service as its checks show it: each instance with its check's status."""

    name: str
    instances: frozenset[tuple[str, str]]  # (instance id, status)

    @property
    def healthy(self) -> bool:
        return any(status == PASSING for _, status in self.instances)


def mesh_services(checks: Iterable[Mapping[str, Any]]) -> dict[str, MeshService]:
    """Consul's check entries (`/v1/health/state/any`) → mesh services by name."""
    found: dict[str, set[tuple[str, str]]] = {}
    for check in checks:
        name = check.get("ServiceName") or ""
        if not name or str(check.get("Type", "")).lower() != "grpc":
            continue
        found.setdefault(name, set()).add((str(check["ServiceID"]), str(check["Status"])))
    return {name: MeshService(name, frozenset(ids)) for name, ids in found.items()}


class CheckClient(ConsulClient):
    async def checks(
        self, *, index: int = 0, wait_seconds: float = 0.0
    ) -> tuple[int, list[dict[str, Any]]]:
        """Every check in the datacenter; with `index`, a blocking query that returns when
        any of them changes or the wait ends. Returns (new index, checks)."""
        params: dict[str, str] = {}
        timeout: float | None = None
        if index:
            params.update(index=str(index), wait=f"{int(wait_seconds)}s")
            timeout = wait_seconds + wait_seconds / 16 + 5  # Consul adds up to wait/16 jitter
        resp = await self._request("GET", "/v1/health/state/any", params=params, timeout=timeout)
        return int(resp.headers.get("X-Consul-Index", "0")), list(resp.json())


class MeshServiceWatcher(Lifecycle):
    """Calls `on_change(services)` with every mesh service by name, at Consul's first answer
    and whenever a service, an instance or a check status comes or goes."""

    def __init__(
        self,
        consul: CheckClient,
        on_change: Callable[[dict[str, MeshService]], None],
        *,
        wait_seconds: float = 30.0,
    ) -> None:
        self.consul = consul
        self.wait_seconds = wait_seconds
        self.services: dict[str, MeshService] | None = None
        self._on_change = on_change
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="watch-mesh-services")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        index = 0
        failures = 0
        while True:
            try:
                new_index, checks = await self.consul.checks(
                    index=index, wait_seconds=self.wait_seconds
                )
            except ConsulError as exc:
                failures += 1
                if failures == 1:
                    log.warning("watching Consul's checks failed (%s); retrying", exc)
                await asyncio.sleep(min(10.0, 0.2 * 2**failures) * random.uniform(0.5, 1.0))
                continue
            if failures:
                log.info("watching Consul's checks again after %d failure(s)", failures)
                failures = 0
            # Consul's rule: reset when the index goes backwards; never block on index 0.
            index = 0 if new_index < index else max(new_index, 1)
            services = mesh_services(checks)
            if services != self.services:
                self.services = services
                self._on_change(services)
