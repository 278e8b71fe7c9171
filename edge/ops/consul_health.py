"""Every registered instance of a service with its checks, failing ones included, as Consul's
health endpoint reports them; answers cached briefly and fetched once for all callers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from mesh.discovery.consul import ConsulError
from mesh.lifecycle import Lifecycle

# Consul's check states, best first; an instance is as good as its worst check.
CHECK_STATES = ("passing", "warning", "critical")
_RANK = {state: rank for rank, state in enumerate(CHECK_STATES)}


@dataclass(frozen=True)
class CheckHealth:
    check_id: str
    name: str
    status: str  # passing, warning or critical (maintenance mode is a critical check)


@dataclass(frozen=True)
class InstanceHealth:
    instance_id: str
    node: str
    host: str
    port: int
    checks: tuple[CheckHealth, ...]  # the node's checks and the instance's own

    @property
    def status(self) -> str:
        """The worst check's status; "passing" for an instance without checks, as Consul
        itself counts it."""
        worst = max((_RANK.get(c.status, len(CHECK_STATES)) for c in self.checks), default=0)
        return CHECK_STATES[min(worst, len(CHECK_STATES) - 1)]

    @property
    def passing(self) -> bool:
        # What Consul's own `?passing` filter keeps: every check passing, warnings excluded.
        return all(c.status == "passing" for c in self.checks)

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> InstanceHealth:
        service, node = entry["Service"], entry["Node"]
        return cls(
            instance_id=str(service["ID"]),
            node=str(node.get("Node", "")),
            host=str(service.get("Address") or node.get("Address", "")),
            port=int(service.get("Port") or 0),
            checks=tuple(
                CheckHealth(str(c.get("CheckID", "")), str(c.get("Name", "")), str(c["Status"]))
                for c in entry.get("Checks") or ()
            ),
        )


_Outcome = tuple[InstanceHealth, ...] | ConsulError


class ConsulHealth(Lifecycle):
    """`await instances(service)`: at most one request to Consul per service at a time, and
    none while the last answer (or failure) is younger than `cache_seconds`, however many
    health requests arrive. mesh.discovery's client asks only for passing instances, so
    this one calls `/v1/health/service/<name>` without the filter itself."""

    def __init__(
        self,
        address: str,
        *,
        cache_seconds: float = 1.0,
        timeout_seconds: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.address = address.rstrip("/")
        self.cache_seconds = cache_seconds
        self._http = httpx.AsyncClient(
            base_url=self.address, timeout=timeout_seconds, transport=transport
        )
        self._cache: dict[str, tuple[float, _Outcome]] = {}
        self._pending: dict[str, asyncio.Task[_Outcome]] = {}
        self._stopped = False

    async def instances(self, service: str) -> tuple[InstanceHealth, ...]:
        """Raises ConsulError when Consul cannot be asked or refuses."""
        if self._stopped:
            raise ConsulError("consul health reader is stopped")
        loop = asyncio.get_running_loop()
        cached = self._cache.get(service)
        if cached is not None and loop.time() - cached[0] < self.cache_seconds:
            outcome = cached[1]
        else:
            task = self._pending.get(service)
            if task is None:
                task = self._pending[service] = asyncio.create_task(self._fetch(service))
                task.add_done_callback(lambda _: self._pending.pop(service, None))
            try:
                # A caller that goes away does not cancel the fetch the others wait for.
                outcome = await asyncio.shield(task)
            except asyncio.CancelledError:
                me = asyncio.current_task()
                if task.cancelled() and not (me is not None and me.cancelling()):
                    raise ConsulError("consul health reader stopped") from None
                raise
        if isinstance(outcome, ConsulError):
            raise ConsulError(str(outcome))  # a fresh one: a shared one would pile up tracebacks
        return outcome

    async def _fetch(self, service: str) -> _Outcome:
        outcome: _Outcome
        try:
            resp = await self._http.get(f"/v1/health/service/{service}")
            if resp.status_code >= 400:
                raise ConsulError(
                    f"consul at {self.address} answered {resp.status_code} for {service}: "
                    f"{resp.text.strip()[:300]}"
                )
            outcome = tuple(
                sorted(
                    (InstanceHealth.from_entry(e) for e in resp.json()),
                    key=lambda i: i.instance_id,
                )
            )
        except httpx.HTTPError as exc:
            outcome = ConsulError(f"consul at {self.address}: {exc!r}")
        except (ValueError, KeyError, TypeError) as exc:
            outcome = ConsulError(f"consul at {self.address}: unreadable answer: {exc!r}")
        except ConsulError as exc:
            outcome = exc
        self._cache[service] = (asyncio.get_running_loop().time(), outcome)
        return outcome

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        pending = list(self._pending.values())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self._http.aclose()
