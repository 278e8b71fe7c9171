"""The lifecycle every infrastructure component shares: prepare, start, wait until ready, stop."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass

from mesh.infra.errors import StartError
from mesh.infra.process import ManagedProcess, ProcessSpec
from mesh.lifecycle import Lifecycle


class NotReady(Exception):
    """A readiness probe failed; the message says what was missing."""


@dataclass(frozen=True)
class Status:
    name: str
    address: str
    pid: int | None
    healthy: bool
    detail: str


class Component(Lifecycle, ABC):
    """One process of the local infrastructure. `start()`/`stop()` are safe to call twice."""

    name: str
    start_timeout_seconds: float = 60.0

    def __init__(self) -> None:
        self._process: ManagedProcess | None = None
        self._started_here = False

    @property
    @abstractmethod
    def address(self) -> str: ...

    @abstractmethod
    def spec(self) -> ProcessSpec: ...

    @abstractmethod
    async def probe(self) -> None:
        """Return when the component is really usable; raise NotReady otherwise."""

    async def prepare(self) -> None:
        """Write config files, format storage: anything needed before the first start."""

    @property
    def process(self) -> ManagedProcess:
        if self._process is None:
            self._process = ManagedProcess(self.spec())
        return self._process

    async def start(self) -> bool:
        """Start unless already running and wait until ready; True if started now."""
        if self.process.pid() is not None:
            await self.wait_ready()
            return False
        await self.prepare()
        self.process.start()
        self._started_here = True
        try:
            await self.wait_ready()
        except BaseException:
            await self.process.stop()
            raise
        return True

    async def wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout_seconds
        reason = "no answer yet"
        while True:
            code = self.process.returncode()
            if code is not None or self.process.pid() is None:
                exit_text = f"exit code {code}" if code is not None else "process gone"
                raise StartError(
                    self.name,
                    f"process exited during start ({exit_text})",
                    self.process.spec.log_path,
                    self.process.log_tail(),
                )
            try:
                await self.probe()
                return
            except NotReady as exc:
                reason = str(exc)
            if loop.time() >= deadline:
                raise StartError(
                    self.name,
                    f"not ready after {self.start_timeout_seconds:.0f}s (last check: {reason})",
                    self.process.spec.log_path,
                    self.process.log_tail(),
                )
            await asyncio.sleep(0.25)

    async def stop(self) -> bool:
        return await self.process.stop()

    async def status(self) -> Status:
        pid = self.process.pid()
        if pid is None:
            return Status(self.name, self.address, None, False, "stopped")
        try:
            await self.probe()
        except NotReady as exc:
            return Status(self.name, self.address, pid, False, f"running, not ready: {exc}")
        return Status(self.name, self.address, pid, True, "healthy")
