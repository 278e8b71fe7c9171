"""Periodic runs its job on schedule, survives a failing run and stops mid-run."""

from __future__ import annotations

import asyncio

import pytest

from mesh.periodic import Periodic


async def _until(predicate: object, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.005)


async def test_runs_repeatedly_and_a_failure_does_not_stop_it() -> None:
    calls: list[int] = []

    async def job() -> None:
        calls.append(len(calls))
        if len(calls) == 2:
            raise RuntimeError("one bad run")

    async with Periodic("job", 0.01, job) as periodic:
        await _until(lambda: len(calls) >= 4)
    assert periodic.runs >= 4
    settled = len(calls)
    await asyncio.sleep(0.05)
    assert len(calls) == settled  # stopped means stopped


async def test_stop_cancels_a_run_in_progress_and_is_idempotent() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def job() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    periodic = Periodic("slow", 1.0, job)
    await periodic.start()
    await periodic.start()
    await asyncio.wait_for(started.wait(), 5)
    await periodic.stop()
    await periodic.stop()
    assert cancelled.is_set()


def test_a_non_positive_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="interval_seconds"):
        Periodic("x", 0, lambda: asyncio.sleep(0))
