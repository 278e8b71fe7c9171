"""User rows and their roles: the statements `SqlStore` runs inside its transactions."""

from __future__ import annotations

from collections.abc import Iterable

from mesh.paging import KeysetTokens
from mesh.store import Row, Transaction
from services.identity.store.records import (
    Role,
    UserChanges,
    UserPage,
    UserRecord,
    UserStatus,
)

_COLUMNS = (
    "u.user_id, u.email, u.display_name, u.status, u.password_hash, "
    "u.created_at, u.updated_at, u.deleted_at"
)
_PAGE_TOKENS = KeysetTokens((float, str))  # (created_at, user_id), oldest first
_HAS_ROLE = "EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.user_id AND r.role = ?)"


async def _roles(tx: Transaction, user_ids: Iterable[str]) -> dict[str, set[Role]]:
    ids = list(user_ids)
    roles: dict[str, set[Role]] = {user_id: set() for user_id in ids}
    if ids:
        marks = ", ".join("?" * len(ids))
        rows = await tx.fetchall(
            f"SELECT user_id, role FROM user_roles WHERE user_id IN ({marks})", ids
        )
        for user_id, role in rows:
            roles[user_id].add(Role(role))
    return roles


async def _records(tx: Transaction, rows: list[Row]) -> list[UserRecord]:
    roles = await _roles(tx, (row[0] for row in rows))
    return [
        UserRecord(
            user_id=row[0],
            email=row[1],
            display_name=row[2],
            status=UserStatus(row[3]),
            password_hash=row[4],
            created_at=float(row[5]),
            updated_at=float(row[6]),
            deleted_at=None if row[7] is None else float(row[7]),
            roles=frozenset(roles[row[0]]),
        )
        for row in rows
    ]


async def select_one(tx: Transaction, where: str, params: tuple[object, ...]) -> UserRecord | None:
    row = await tx.fetchone(f"SELECT {_COLUMNS} FROM users u WHERE {where}", params)
    if row is None:
        return None
    (user,) = await _records(tx, [row])
    return user


async def set_roles(tx: Transaction, user_id: str, roles: frozenset[Role]) -> None:
    await tx.execute("DELETE FROM user_roles WHERE user_id = ?", (user_id,))
    for role in sorted(roles):
        await tx.execute(
            "INSERT INTO user_roles (user_id, role) VALUES (?, ?)", (user_id, str(role))
        )


async def insert(tx: Transaction, user: UserRecord) -> None:
    await tx.execute(
        "INSERT INTO users (user_id, email, display_name, status, password_hash, "
        "created_at, updated_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
        (
            user.user_id,
            user.email,
            user.display_name,
            str(user.status),
            user.password_hash,
            user.created_at,
            user.updated_at,
        ),
    )
    await set_roles(tx, user.user_id, user.roles)


async def update(
    tx: Transaction, user_id: str, changes: UserChanges, now: float
) -> UserRecord | None:
    # Column names come from this fixed list, never from the caller.
    columns: list[tuple[str, object]] = [
        (name, value)
        for name, value in (
            ("email", changes.email),
            ("display_name", changes.display_name),
            ("status", None if changes.status is None else str(changes.status)),
            ("password_hash", changes.password_hash),
            ("updated_at", now),
        )
        if value is not None
    ]
    assignments = ", ".join(f"{name} = ?" for name, _ in columns)
    changed = await tx.execute(
        f"UPDATE users SET {assignments} WHERE user_id = ? AND deleted_at IS NULL",
        (*(value for _, value in columns), user_id),
    )
    if not changed:
        return None
    if changes.roles is not None:
        await set_roles(tx, user_id, changes.roles)
    return await select_one(tx, "u.user_id = ?", (user_id,))


async def page(tx: Transaction, *, page_size: int, page_token: str, role: Role | None) -> UserPage:
    role_name = "" if role is None else str(role)
    where = ["u.deleted_at IS NULL"]
    params: list[object] = []
    if role is not None:
        where.append(_HAS_ROLE)
        params.append(role_name)
    after = _PAGE_TOKENS.decode(page_token, {"role": role_name})
    if after is not None:
        created_at, user_id = after
        where.append("(u.created_at > ? OR (u.created_at = ? AND u.user_id > ?))")
        params.extend((created_at, created_at, user_id))
    params.append(page_size + 1)
    rows = await tx.fetchall(
        f"SELECT {_COLUMNS} FROM users u WHERE {' AND '.join(where)} "
        "ORDER BY u.created_at, u.user_id LIMIT ?",
        params,
    )
    users = await _records(tx, rows[:page_size])
    next_token = ""
    if len(rows) > page_size:
        last = users[-1]
        next_token = _PAGE_TOKENS.encode((last.created_at, last.user_id), {"role": role_name})
    return UserPage(users=tuple(users), next_page_token=next_token)


async def count(tx: Transaction, *, role: Role | None, status: UserStatus | None) -> int:
    where = ["u.deleted_at IS NULL"]
    params: list[object] = []
    if role is not None:
        where.append(_HAS_ROLE)
        params.append(str(role))
    if status is not None:
        where.append("u.status = ?")
        params.append(str(status))
    row = await tx.fetchone(f"SELECT COUNT(*) FROM users u WHERE {' AND '.join(where)}", params)
    return 0 if row is None else int(row[0])
