"""Session and refresh-token rows: the statements `SqlStore` runs inside its transactions."""

from __future__ import annotations

from mesh.store import Row, Transaction
from services.identity.store._events import enqueue_revocations
from services.identity.store.records import (
    RefreshTokenRecord,
    RevocationReason,
    RotateOutcome,
    RotateStatus,
    SessionRecord,
)

SESSION_COLUMNS = (
    "session_id, user_id, created_at, expires_at, access_expires_at, revoked_at, revoke_reason"
)
REFRESH_COLUMNS = "token_id, session_id, issued_at, expires_at, used_at, replaced_by"


def session_record(row: Row) -> SessionRecord:
    return SessionRecord(
        session_id=row[0],
        user_id=row[1],
        created_at=float(row[2]),
        expires_at=float(row[3]),
        access_expires_at=float(row[4]),
        revoked_at=None if row[5] is None else float(row[5]),
        revoke_reason=None if row[6] is None else RevocationReason(row[6]),
    )


def refresh_record(row: Row) -> RefreshTokenRecord:
    return RefreshTokenRecord(
        token_id=row[0],
        session_id=row[1],
        issued_at=float(row[2]),
        expires_at=float(row[3]),
        used_at=None if row[4] is None else float(row[4]),
        replaced_by=row[5],
    )


async def insert_session(tx: Transaction, session: SessionRecord) -> None:
    await tx.execute(
        f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, NULL)",
        (
            session.session_id,
            session.user_id,
            session.created_at,
            session.expires_at,
            session.access_expires_at,
        ),
    )


async def insert_refresh(tx: Transaction, refresh: RefreshTokenRecord) -> None:
    await tx.execute(
        f"INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) VALUES (?, ?, ?, ?, NULL, NULL)",
        (refresh.token_id, refresh.session_id, refresh.issued_at, refresh.expires_at),
    )


async def revoke(
    tx: Transaction, session_id: str, now: float, reason: RevocationReason
) -> SessionRecord | None:
    row = await tx.fetchone(
        "UPDATE sessions SET revoked_at = ?, revoke_reason = ? "
        f"WHERE session_id = ? AND revoked_at IS NULL RETURNING {SESSION_COLUMNS}",
        (now, str(reason), session_id),
    )
    if row is None:
        return None
    session = session_record(row)
    await enqueue_revocations(tx, [session])
    return session


async def revoke_for_user(
    tx: Transaction, user_id: str, now: float, reason: RevocationReason
) -> tuple[SessionRecord, ...]:
    # Sessions past their refresh expiry can do nothing any more; no need to announce them.
    rows = await tx.fetchall(
        "UPDATE sessions SET revoked_at = ?, revoke_reason = ? "
        "WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? "
        f"RETURNING {SESSION_COLUMNS}",
        (now, str(reason), user_id, now),
    )
    revoked = tuple(sorted((session_record(row) for row in rows), key=lambda s: s.created_at))
    await enqueue_revocations(tx, revoked)
    return revoked


async def rotate(
    tx: Transaction,
    *,
    lock: str,
    session_id: str,
    old_token_id: str,
    new: RefreshTokenRecord,
    access_expires_at: float,
    now: float,
) -> RotateOutcome:
    # The token row first, then the session row: every writer locks in this order.
    token = await tx.fetchone(
        "SELECT used_at, expires_at FROM refresh_tokens "
        f"WHERE token_id = ? AND session_id = ?{lock}",
        (old_token_id, session_id),
    )
    if token is None:
        return RotateOutcome(RotateStatus.UNKNOWN)
    row = await tx.fetchone(
        f"SELECT {SESSION_COLUMNS} FROM sessions WHERE session_id = ?{lock}", (session_id,)
    )
    if row is None:
        return RotateOutcome(RotateStatus.UNKNOWN)
    session = session_record(row)
    if session.is_revoked:
        return RotateOutcome(RotateStatus.SESSION_REVOKED, session)
    if token[0] is not None:
        revoked = await revoke(tx, session_id, now, RevocationReason.REFRESH_TOKEN_REUSE)
        return RotateOutcome(RotateStatus.REUSED, revoked)
    if float(token[1]) <= now:
        return RotateOutcome(RotateStatus.EXPIRED, session)
    await tx.execute(
        "UPDATE refresh_tokens SET used_at = ?, replaced_by = ? WHERE token_id = ?",
        (now, new.token_id, old_token_id),
    )
    await insert_refresh(tx, new)
    updated = await tx.fetchone(
        "UPDATE sessions SET expires_at = ?, access_expires_at = ? WHERE session_id = ? "
        f"RETURNING {SESSION_COLUMNS}",
        (new.expires_at, access_expires_at, session_id),
    )
    assert updated is not None
    return RotateOutcome(RotateStatus.ROTATED, session_record(updated))
