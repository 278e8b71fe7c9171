"""argon2id password hashing, run in worker threads so the event loop never waits on it.

Passwords and hashes are never logged or put in exception messages.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

logger = logging.getLogger(__name__)


class PasswordHasher:
    """Hashes and verifies passwords; at most `max_concurrent` hashes run at once."""

    def __init__(
        self,
        *,
        time_cost: int = 3,
        memory_kib: int = 65536,
        parallelism: int = 4,
        max_concurrent: int = 4,
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        self._slots = asyncio.Semaphore(max_concurrent)
        self._decoy: str | None = None

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether `password` matches; an unreadable stored hash counts as no match."""
        async with self._slots:
            return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except VerifyMismatchError:
            return False
        except InvalidHashError:
            if password_hash:
                logger.warning("a stored password hash is not a valid argon2 hash")
            return False
        except VerificationError:
            return False

    async def verify_decoy(self, password: str) -> None:
        """Spend the time a real verification would, for an account that does not exist,
        so response times do not tell which emails are registered."""
        if self._decoy is None:
            self._decoy = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._decoy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether a matching hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True
