"""The store written once in SQL, over the `Database` interface both drivers implement."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from mesh.store import Database, IntegrityViolation, Row, ViolationKind, migrate
from services.identity.store import _sql_sessions as sessions
from services.identity.store import _sql_users as users
from services.identity.store.base import Store
from services.identity.store.errors import DuplicateEmail, KeyRingConflict, StoreError
from services.identity.store.migrations import MIGRATIONS
from services.identity.store.records import (
    LoginFailures,
    RefreshTokenRecord,
    RevocationReason,
    Role,
    RotateOutcome,
    SessionRecord,
    StoredKeyRing,
    UserChanges,
    UserDeletion,
    UserPage,
    UserRecord,
    UserStatus,
)

logger = logging.getLogger(__name__)

# Nothing has happened on a sign-in counter since the parameter (given twice).
_QUIET = (
    "(login_failures.last_failure_at < ? "
    "AND (login_failures.locked_until IS NULL OR login_failures.locked_until < ?))"
)


def _login_failures(key: str, row: Row) -> LoginFailures:
    return LoginFailures(
        key=key,
        failures=int(row[0]),
        last_failure_at=float(row[1]),
        locked_until=None if row[2] is None else float(row[2]),
    )


@contextmanager
def _unique_email() -> Iterator[None]:
    # UUID primary keys do not collide, so the one unique constraint a user write can
    # break is the live-email index.
    try:
        yield
    except IntegrityViolation as exc:
        if exc.kind is ViolationKind.UNIQUE:
            raise DuplicateEmail("a user with this email already exists") from None
        raise


class SqlStore(Store):
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- lifecycle --

    @property
    def database(self) -> Database:
        return self._db

    async def migrate(self) -> tuple[int, ...]:
        return await migrate(self._db, MIGRATIONS)

    async def close(self) -> None:
        await self._db.close()

    # -- users --

    async def create_user(self, user: UserRecord) -> UserRecord:
        with _unique_email():
            async with self._db.transaction(write=True) as tx:
                await users.insert(tx, user)
        return user

    async def get_user(self, user_id: str, *, include_deleted: bool = False) -> UserRecord | None:
        where = "u.user_id = ?" if include_deleted else "u.user_id = ? AND u.deleted_at IS NULL"
        async with self._db.transaction() as tx:
            return await users.select_one(tx, where, (user_id,))

    async def get_user_by_email(self, email: str) -> UserRecord | None:
        async with self._db.transaction() as tx:
            return await users.select_one(tx, "u.email = ? AND u.deleted_at IS NULL", (email,))

    async def update_user(
        self, user_id: str, changes: UserChanges, *, now: float
    ) -> UserRecord | None:
        with _unique_email():
            async with self._db.transaction(write=True) as tx:
                return await users.update(tx, user_id, changes, now)

    async def set_password_hash(self, user_id: str, password_hash: str, *, now: float) -> bool:
        changes = UserChanges(password_hash=password_hash)
        async with self._db.transaction(write=True) as tx:
            return await users.update(tx, user_id, changes, now) is not None

    async def delete_user(
        self, user_id: str, *, now: float, reason: RevocationReason = RevocationReason.USER_DELETED
    ) -> UserDeletion:
        async with self._db.transaction(write=True) as tx:
            row = await tx.fetchone(
                f"SELECT deleted_at FROM users WHERE user_id = ?{self._db.for_update}", (user_id,)
            )
            if row is None:
                return UserDeletion(found=False)
            if row[0] is not None:
                return UserDeletion(found=True, already_deleted=True)
            # The hash is of no use any more; keeping it would only be a liability.
            await tx.execute(
                "UPDATE users SET deleted_at = ?, updated_at = ?, password_hash = '' "
                "WHERE user_id = ?",
                (now, now, user_id),
            )
            revoked = await sessions.revoke_for_user(tx, user_id, now, reason)
        return UserDeletion(found=True, revoked_sessions=revoked)

    async def list_users(
        self, *, page_size: int, page_token: str = "", role: Role | None = None
    ) -> UserPage:
        if page_size < 1:
            raise ValueError(f"page_size must be positive, got {page_size}")
        async with self._db.transaction() as tx:
            return await users.page(tx, page_size=page_size, page_token=page_token, role=role)

    async def count_users(
        self, *, role: Role | None = None, status: UserStatus | None = None
    ) -> int:
        async with self._db.transaction() as tx:
            return await users.count(tx, role=role, status=status)

    # -- sessions and refresh tokens --

    async def create_session(self, session: SessionRecord, refresh: RefreshTokenRecord) -> None:
        if refresh.session_id != session.session_id:
            raise ValueError("the refresh token belongs to another session")
        async with self._db.transaction(write=True) as tx:
            await sessions.insert_session(tx, session)
            await sessions.insert_refresh(tx, refresh)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                f"SELECT {sessions.SESSION_COLUMNS} FROM sessions WHERE session_id = ?",
                (session_id,),
            )
        return None if row is None else sessions.session_record(row)

    async def revoke_session(
        self, session_id: str, *, now: float, reason: RevocationReason
    ) -> SessionRecord | None:
        async with self._db.transaction(write=True) as tx:
            return await sessions.revoke(tx, session_id, now, reason)

    async def revoke_user_sessions(
        self, user_id: str, *, now: float, reason: RevocationReason
    ) -> tuple[SessionRecord, ...]:
        async with self._db.transaction(write=True) as tx:
            return await sessions.revoke_for_user(tx, user_id, now, reason)

    async def get_refresh_token(self, token_id: str) -> RefreshTokenRecord | None:
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                f"SELECT {sessions.REFRESH_COLUMNS} FROM refresh_tokens WHERE token_id = ?",
                (token_id,),
            )
        return None if row is None else sessions.refresh_record(row)

    async def rotate_refresh_token(
        self,
        *,
        session_id: str,
        old_token_id: str,
        new: RefreshTokenRecord,
        access_expires_at: float,
        now: float,
    ) -> RotateOutcome:
        if new.session_id != session_id:
            raise ValueError("the new refresh token belongs to another session")
        async with self._db.transaction(write=True) as tx:
            return await sessions.rotate(
                tx,
                lock=self._db.for_update,
                session_id=session_id,
                old_token_id=old_token_id,
                new=new,
                access_expires_at=access_expires_at,
                now=now,
            )

    # -- failed sign-ins --

    async def get_login_failures(self, key: str) -> LoginFailures | None:
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT failures, last_failure_at, locked_until FROM login_failures "
                "WHERE login_key = ?",
                (key,),
            )
        return None if row is None else _login_failures(key, row)

    async def record_login_failure(
        self, key: str, *, now: float, reset_after_seconds: float
    ) -> LoginFailures:
        # One upsert, so concurrent failures for the same key each count. The count restarts
        # only after a quiet spell with neither failures nor a lockout, so waiting out a
        # lockout does not reset the backoff.
        quiet_since = now - reset_after_seconds
        async with self._db.transaction(write=True) as tx:
            row = await tx.fetchone(
                "INSERT INTO login_failures (login_key, failures, last_failure_at, locked_until) "
                "VALUES (?, 1, ?, NULL) "
                "ON CONFLICT (login_key) DO UPDATE SET "
                f"failures = CASE WHEN {_QUIET} THEN 1 ELSE login_failures.failures + 1 END, "
                f"locked_until = CASE WHEN {_QUIET} THEN NULL "
                "ELSE login_failures.locked_until END, "
                "last_failure_at = ? "
                "RETURNING failures, last_failure_at, locked_until",
                (key, now, quiet_since, quiet_since, quiet_since, quiet_since, now),
            )
        assert row is not None
        return _login_failures(key, row)

    async def lock_login(self, key: str, *, until: float) -> None:
        async with self._db.transaction(write=True) as tx:
            await tx.execute(
                "UPDATE login_failures SET locked_until = ? WHERE login_key = ?", (until, key)
            )

    async def clear_login_failures(self, key: str) -> None:
        async with self._db.transaction(write=True) as tx:
            await tx.execute("DELETE FROM login_failures WHERE login_key = ?", (key,))

    # -- signing keys --

    async def load_key_ring(self) -> StoredKeyRing | None:
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT ring, version FROM signing_keys WHERE id = 1")
        if row is None:
            return None
        data = json.loads(row[0])
        if not isinstance(data, dict):
            raise StoreError("the stored signing key ring is not a JSON object")
        return StoredKeyRing(data=data, version=int(row[1]))

    async def save_key_ring(
        self, data: Mapping[str, Any], *, expected_version: int | None, now: float
    ) -> int:
        ring = json.dumps(data, separators=(",", ":"), sort_keys=True)
        async with self._db.transaction(write=True) as tx:
            if expected_version is None:
                changed = await tx.execute(
                    "INSERT INTO signing_keys (id, ring, version, updated_at) "
                    "VALUES (1, ?, 1, ?) ON CONFLICT (id) DO NOTHING",
                    (ring, now),
                )
                new_version = 1
            else:
                changed = await tx.execute(
                    "UPDATE signing_keys SET ring = ?, version = version + 1, updated_at = ? "
                    "WHERE id = 1 AND version = ?",
                    (ring, now, expected_version),
                )
                new_version = expected_version + 1
        if not changed:
            raise KeyRingConflict("the signing key ring was changed by another instance")
        return new_version

    # -- housekeeping --

    async def prune(self, *, now: float, keep_seconds: float) -> int:
        cutoff = now - keep_seconds
        async with self._db.transaction(write=True) as tx:
            # Refresh tokens go with their session (ON DELETE CASCADE).
            expired = await tx.execute("DELETE FROM sessions WHERE expires_at < ?", (cutoff,))
            counters = await tx.execute(
                "DELETE FROM login_failures WHERE last_failure_at < ? "
                "AND (locked_until IS NULL OR locked_until < ?)",
                (cutoff, now),
            )
        return expired + counters
