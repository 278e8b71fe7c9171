"""Run clean-up to the end even when the task awaiting it is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def finish(work: Awaitable[T]) -> T:
    """Await `work` shielded: a cancelled caller still lets it run to completion (in the
    background if need be) and then sees the CancelledError."""
    return await asyncio.shield(asyncio.ensure_future(work))
