"""Work that must outlive the call that started it: tasks a caller's cancellation or deadline
does not reach, stopped together when the service stops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from mesh import context as call_context
from mesh.errors import DomainError

log = logging.getLogger(__name__)

T = TypeVar("T")


class Detached:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run `work` in its own task, outside the caller's deadline (upstream calls then get
        their own); await it under `asyncio.shield` to wait without being able to stop it."""
        if self._closed:
            work.close()
            raise RuntimeError("stopped: no new work is accepted")

        async def detached() -> T:
            with call_context.bind(deadline=None):
                return await work

        task = asyncio.get_running_loop().create_task(detached())
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not isinstance(error, DomainError):
            log.warning("detached work failed: %r", error)

    @property
    def running(self) -> int:
        """How many tasks are still at work."""
        return len(self._tasks)

    async def close(self) -> None:
        """Stop every task where it is (the store records how far each got); safe twice."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
