"""Per-account sign-in throttling: lock an account after repeated failures, backing off."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from mesh.errors import ResourceExhausted
from services.identity.store import Store

_MAX_DOUBLINGS = 32


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    max_failures: int = 5
    reset_after_seconds: float = 900.0
    lockout_seconds: float = 60.0
    max_lockout_seconds: float = 3600.0

    def lockout_for(self, failures: int) -> float | None:
        """How long to lock after the `failures`-th failure in a row; None for no lock."""
        if failures < self.max_failures:
            return None
        doublings = min(failures - self.max_failures, _MAX_DOUBLINGS)
        return min(self.lockout_seconds * float(2**doublings), self.max_lockout_seconds)


def _locked(retry_after: float) -> ResourceExhausted:
    seconds = max(1, math.ceil(retry_after))
    return ResourceExhausted(
        f"too many failed sign-in attempts; try again in {seconds} seconds",
        retry_after_seconds=seconds,
        reason="SIGN_IN_LOCKED",
    )


class LoginThrottle:
    """Counts failures by login key (the normalised email, whether or not an account has it,
    so a lockout reveals nothing about which emails are registered)."""

    def __init__(self, store: Store, policy: ThrottlePolicy, *, now: Callable[[], float]) -> None:
        self._store = store
        self._policy = policy
        self._now = now

    async def check(self, key: str) -> None:
        """Raise ResourceExhausted (with retry-after) while the key is locked."""
        state = await self._store.get_login_failures(key)
        now = self._now()
        if state is not None and state.locked_until is not None and state.locked_until > now:
            raise _locked(state.locked_until - now)

    async def failed(self, key: str) -> None:
        """Count a failure; raise ResourceExhausted when this failure locks the key."""
        now = self._now()
        state = await self._store.record_login_failure(
            key, now=now, reset_after_seconds=self._policy.reset_after_seconds
        )
        lockout = self._policy.lockout_for(state.failures)
        if lockout is not None:
            await self._store.lock_login(key, until=now + lockout)
            raise _locked(lockout)

    async def succeeded(self, key: str) -> None:
        await self._store.clear_login_failures(key)
