"""A small async client for the parts of Consul's HTTP API the mesh uses."""

from __future__ import annotations

from typing import Any

import httpx

from mesh.discovery.registration import Instance, Registration
from mesh.lifecycle import Lifecycle


class ConsulError(RuntimeError):
    """Consul could not be reached or refused a request."""


class ConsulClient(Lifecycle):
    def __init__(self, address: str, *, timeout_seconds: float = 5.0) -> None:
        self.address = address.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.address, timeout=timeout_seconds)

    async def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = await self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ConsulError(f"consul at {self.address}: {method} {path}: {exc!r}") from exc
        if resp.status_code >= 400:
            raise ConsulError(
                f"consul at {self.address}: {method} {path} answered {resp.status_code}: "
                f"{resp.text.strip()[:300]}"
            )
        return resp

    async def register(self, registration: Registration) -> None:
        await self._request("PUT", "/v1/agent/service/register", json=registration.to_consul())

    async def deregister(self, instance_id: str) -> None:
        await self._request("PUT", f"/v1/agent/service/deregister/{instance_id}")

    async def healthy(
        self, service: str, *, index: int = 0, wait_seconds: float = 0.0
    ) -> tuple[int, list[Instance]]:
        """Passing instances; with `index` and `wait_seconds` a blocking query that returns when
        the set changes or the wait ends. Returns (new index, instances)."""
        params: dict[str, str] = {"passing": "true"}
        timeout: float | None = None
        if index:
            params.update(index=str(index), wait=f"{int(wait_seconds)}s")
            timeout = wait_seconds + wait_seconds / 16 + 5  # Consul adds up to wait/16 jitter
        resp = await self._request(
            "GET", f"/v1/health/service/{service}", params=params, timeout=timeout
        )
        new_index = int(resp.headers.get("X-Consul-Index", "0"))
        instances = sorted(Instance.from_health_entry(e) for e in resp.json())
        return new_index, instances

    async def registered(
        self, service: str, *, index: int = 0, wait_seconds: float = 0.0
    ) -> tuple[int, list[Instance], list[Instance]]:
        """Every registered instance, split into passing (all its checks pass) and failing;
        with `index` and `wait_seconds` a blocking query, as `healthy`. Returns (new index,
        passing, failing)."""
        params: dict[str, str] = {}
        timeout: float | None = None
        if index:
            params.update(index=str(index), wait=f"{int(wait_seconds)}s")
            timeout = wait_seconds + wait_seconds / 16 + 5
        resp = await self._request(
            "GET", f"/v1/health/service/{service}", params=params, timeout=timeout
        )
        new_index = int(resp.headers.get("X-Consul-Index", "0"))
        passing: list[Instance] = []
        failing: list[Instance] = []
        for entry in resp.json():
            checks = entry.get("Checks") or ()
            ok = all(check.get("Status") == "passing" for check in checks)
            (passing if ok else failing).append(Instance.from_health_entry(entry))
        return new_index, sorted(passing), sorted(failing)

    async def check_status(self, instance_id: str) -> str | None:
        resp = await self._request("GET", "/v1/agent/checks")
        for check in resp.json().values():
            if check.get("ServiceID") == instance_id:
                return str(check["Status"])
        return None

    async def stop(self) -> None:
        await self._http.aclose()

    close = stop
