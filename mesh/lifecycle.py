"""The lifecycle every long-lived part shares: `start()`/`stop()`, both safe to call twice,
and `async with` built on them."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self


class Lifecycle:
    async def start(self) -> Any:
        """Acquire resources; a second call does nothing."""

    async def stop(self) -> Any:
        """Release resources; a second call does nothing."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
