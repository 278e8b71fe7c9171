"""Which relay of a service publishes: one at a time per database.

PostgreSQL: a transaction-scoped advisory lock, taken without waiting by each publishing
round; the database releases it when the round's transaction ends or its connection dies.
SQLite: an exclusive `flock` on a file beside the database, held while the relay runs; the
kernel releases it when the process exits, however it exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from pathlib import Path

from mesh.store import Database, Transaction


def advisory_lock_id(source: str) -> int:
    """A stable signed 63-bit lock id per publishing service."""
    digest = hashlib.sha256(f"trademesh.outbox-relay:{source}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


async def try_advisory_lock(tx: Transaction, lock_id: int) -> bool:
    row = await tx.fetchone("SELECT pg_try_advisory_xact_lock(?)", (lock_id,))
    return bool(row and row[0])


class FileLock:
    """An exclusive, non-blocking `flock` on `path`; a no-op without a path (in-memory)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._fd: int | None = None

    @classmethod
    def beside(cls, db: Database) -> FileLock:
        path = getattr(db, "path", None)
        if not isinstance(path, Path) or str(path) == ":memory:":
            return cls(None)
        return cls(path.with_name(path.name + ".relay.lock"))

    @property
    def held(self) -> bool:
        return self._path is None or self._fd is not None

    def try_acquire(self) -> bool:
        if self.held:
            return True
        assert self._path is not None
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
