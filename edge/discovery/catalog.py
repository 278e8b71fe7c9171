"""The edge's current contracts: those compiled in, replaced by what each running mesh service
reports through server reflection, re-read when Consul sees a change and on a timer."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import grpc
from google.protobuf.descriptor import FileDescriptor, ServiceDescriptor

from edge.contracts import Contracts, compiled_services
from edge.discovery.config import DiscoveryConfig
from edge.discovery.consul_checks import CheckClient, MeshService, MeshServiceWatcher
from edge.discovery.pool import FileProto, digest
from edge.discovery.reflection import Reflection, fetch
from mesh.lifecycle import Lifecycle

log = logging.getLogger(__name__)

Listener = Callable[[Contracts], None]

_FIRST_RETRY_SECONDS = 0.5


class Connector(Protocol):
    """How the catalog reaches a service: `MeshClient.connect` (mTLS, healthy instances)."""

    async def connect(self, service: str) -> Any: ...


class ContractCatalog(Lifecycle):
    """`current` is every contract the edge can serve now; `subscribe` hears of each change.

    A service's reflected descriptors replace the compiled-in ones of the same gRPC service
    and stay, last known, while the service is registered but cannot be reached, so its
    routes answer 503 rather than 404; they go when it leaves Consul. A gRPC service already
    compiled in for one Consul service is never taken over by another that also serves it.
    """

    def __init__(
        self,
        mesh: Connector,
        config: DiscoveryConfig,
        *,
        consul_address: str,
        compiled: Sequence[tuple[str, ServiceDescriptor]] | None = None,
    ) -> None:
        self.config = config
        self._mesh = mesh
        self._consul_address = consul_address
        self._compiled = list(compiled_services() if compiled is None else compiled)
        self._owners = {d.full_name: name for name, d in self._compiled}
        self._current = Contracts.build(self._compiled)
        self._reflected_digest = _digest({})
        self._digest = _contracts_digest(self._compiled)
        self._listeners: list[Listener] = []
        self._services: dict[str, MeshService] = {}
        self._reflected: dict[str, Reflection] = {}
        self._problems: dict[str, str] = {}
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}  # loop time of the next try of a failed fetch
        self._pending: set[str] = set()
        self._wake = asyncio.Event()
        self._consul: CheckClient | None = None
        self._watcher: MeshServiceWatcher | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.refreshes = 0

    @property
    def current(self) -> Contracts:
        return self._current

    @property
    def reflected(self) -> Mapping[str, Reflection]:
        """What each service last reported by reflection, by Consul name."""
        return dict(self._reflected)

    @property
    def problems(self) -> Mapping[str, str]:
        """Why each service whose reflection could not be read last time could not."""
        return dict(self._problems)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(contracts)` after each change; returns the unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    async def start(self) -> None:
        if self._task is not None or not self.config.enabled:
            return
        self._consul = CheckClient(self._consul_address)
        self._watcher = MeshServiceWatcher(
            self._consul, self.observe, wait_seconds=self.config.consul_wait_seconds
        )
        self._task = asyncio.create_task(self._run(), name="contract-catalog")
        await self._watcher.start()

    async def stop(self) -> None:
        task, self._task = self._task, None
        watcher, self._watcher = self._watcher, None
        consul, self._consul = self._consul, None
        if watcher is not None:
            await watcher.stop()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if consul is not None:
            await consul.close()

    def observe(self, services: Mapping[str, MeshService]) -> None:
        """Take Consul's view of the mesh services (the watcher calls this); those that
        changed are re-read at once."""
        names = services.keys() | self._services.keys()
        self._pending |= {n for n in names if services.get(n) != self._services.get(n)}
        self._services = dict(services)
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        every = self.config.refresh_seconds
        next_full = loop.time() + every
        while True:
            # A full refresh keeps its pace even while Consul reports changes often.
            due = min([next_full, *self._retry_at.values()])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, due - loop.time()))
            self._wake.clear()
            now = loop.time()
            if now >= next_full:
                self._pending |= set(self._services)
                next_full = now + every
            self._pending |= {n for n, at in self._retry_at.items() if at <= now}
            names, self._pending = self._pending, set()
            if not names:
                continue
            try:
                await self.refresh(names)
            except Exception:
                log.exception("refreshing the contracts failed")

    async def refresh(self, names: Iterable[str] | None = None) -> bool:
        """Re-read the reflection of `names` (every known mesh service when None) and
        rebuild the contracts; True when they changed."""
        async with self._lock:
            return await self._refresh(set(self._services) if names is None else set(names))

    async def _refresh(self, wanted: set[str]) -> bool:
        for gone in [n for n in self._reflected if n not in self._services]:
            del self._reflected[gone]
        for known in (self._problems, self._failures, self._retry_at):
            for gone in [n for n in known if n not in self._services]:
                del known[gone]
        healthy = sorted(n for n in wanted if n in self._services and self._services[n].healthy)
        results = await asyncio.gather(*(self._fetch(n) for n in healthy))
        now = asyncio.get_running_loop().time()
        for name, result in zip(healthy, results, strict=True):
            self._retry_at.pop(name, None)
            if result is not None:
                self._reflected[name] = result
                self._failures.pop(name, None)
                continue
            # Tried again soon, not only at the next full refresh: the mesh client may not
            # have seen an instance Consul just reported, or the service is still starting.
            failures = self._failures[name] = self._failures.get(name, 0) + 1
            delay = min(
                self.config.refresh_seconds, _FIRST_RETRY_SECONDS * 2 ** min(failures - 1, 16)
            )
            self._retry_at[name] = now + delay
        self.refreshes += 1
        return self._rebuild()

    async def _fetch(self, name: str) -> Reflection | None:
        timeout = self.config.fetch_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                channel = await self._mesh.connect(name)
                reflection = await fetch(channel, timeout_seconds=timeout)
        except TimeoutError:
            self._note(name, f"no answer within {timeout}s")
            return None
        except grpc.aio.AioRpcError as exc:
            self._note(name, f"{exc.code().name}: {exc.details()}")
            return None
        except Exception as exc:  # one service failing never holds up the others
            self._note(name, f"{type(exc).__name__}: {exc}")
            return None
        self._note(name, None)
        return reflection

    def _note(self, name: str, problem: str | None) -> None:
        """Log a service's reflection state when it changes, not on every refresh."""
        before = self._problems.pop(name, None)
        if problem is not None:
            self._problems[name] = problem
            if problem != before:
                log.warning("%s: cannot read its contracts by reflection: %s", name, problem)
        elif before is not None:
            log.info("%s: contracts readable by reflection again", name)

    def _rebuild(self) -> bool:
        reflected = _digest(self._reflected)
        if reflected == self._reflected_digest:
            return False
        self._reflected_digest = reflected
        pairs = self._pairs()
        digest = _contracts_digest(pairs)
        if digest == self._digest:  # e.g. a service reflecting just what is compiled in
            return False
        contracts = Contracts.build(pairs)
        self._current, self._digest = contracts, digest
        log.info("contracts: %d methods of %d services", len(contracts), len(contracts.services))
        for listener in list(self._listeners):
            try:
                listener(contracts)
            except Exception:
                log.exception("a contracts listener failed")
        return True

    def _pairs(self) -> list[tuple[str, ServiceDescriptor]]:
        """The compiled-in services, then the reflected ones that replace or add to them."""
        pairs = list(self._compiled)
        claimed: dict[str, str] = {}
        for name, reflection in sorted(self._reflected.items()):
            for service in reflection.services:
                owner = self._owners.get(service.full_name) or claimed.get(service.full_name)
                if owner is not None and owner != name:
                    log.warning(
                        "%s also serves %s; its contract stays %s's", name, service.full_name, owner
                    )
                    continue
                claimed[service.full_name] = name
                pairs.append((name, service))
        return pairs


def _contracts_digest(pairs: Sequence[tuple[str, ServiceDescriptor]]) -> str:
    """A hash of what the contracts built from `pairs` say: each winning service's Consul
    name and the files (with their imports) that define it, wherever its descriptors live."""
    winners = {d.full_name: (name, d) for name, d in pairs}
    h = hashlib.sha256()
    for full_name, (name, service) in sorted(winners.items()):
        h.update(f"{full_name}\0{name}\0".encode())
        h.update(bytes.fromhex(_file_digest(service.file)))
    return h.hexdigest()


def _file_digest(file: FileDescriptor) -> str:
    files: dict[str, FileDescriptor] = {}
    pending = [file]
    while pending:
        current = pending.pop()
        if current.name not in files:
            files[current.name] = current
            pending.extend(current.dependencies)
    protos = []
    for found in files.values():
        proto = FileProto()
        found.CopyToProto(proto)
        protos.append(proto)
    return digest(protos)


def _digest(reflected: dict[str, Reflection]) -> str:
    h = hashlib.sha256()
    for name, reflection in sorted(reflected.items()):
        h.update(f"{name}\0{reflection.digest}\0".encode())
    return h.hexdigest()
