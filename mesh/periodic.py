"""A background job run every `interval_seconds` for the life of a process (maintenance,
sweeps), with the same start/stop lifecycle as everything else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from mesh.lifecycle import Lifecycle

log = logging.getLogger(__name__)


class Periodic(Lifecycle):
    """Runs `job` once at start (unless `run_at_start` is False), then every
    `interval_seconds`. A failing run is logged and the next one goes ahead; `stop()` cancels
    a run in progress, which the job must survive (it runs in transactions)."""

    def __init__(
        self,
        name: str,
        interval_seconds: float,
        job: Callable[[], Awaitable[object]],
        *,
        run_at_start: bool = True,
    ) -> None:
        if not interval_seconds > 0:
            raise ValueError(f"{name}: interval_seconds must be positive, got {interval_seconds}")
        self.name = name
        self.interval_seconds = interval_seconds
        self._job = job
        self._run_at_start = run_at_start
        self._task: asyncio.Task[None] | None = None
        self.runs = 0

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"periodic:{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        if not self._run_at_start:
            await asyncio.sleep(self.interval_seconds)
        while True:
            try:
                await self._job()
            except Exception:
                log.exception("%s failed; retrying in %.0fs", self.name, self.interval_seconds)
            self.runs += 1
            await asyncio.sleep(self.interval_seconds)
