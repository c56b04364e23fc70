"""SQL for passwords, one-time links, browser sessions and failed sign-ins.

Sign-in works before anybody knows the workspace (one email may be a user of several), so
most of these statements find rows by a token's hash or an email across workspaces; each
says so. Links are made inside one workspace.
"""

from __future__ import annotations

from openrespond.db import Connection, Row, Scope, Transaction

__all__ = [
    "clear_failures",
    "count_failures",
    "delete_session",
    "delete_sessions_of",
    "find_link",
    "find_session",
    "insert_link",
    "insert_session",
    "record_failure",
    "set_password",
    "signed_in_users",
    "touch_session",
    "use_link",
    "users_by_email",
]


async def users_by_email(conn: Connection, email: str) -> list[Row]:
    """Active users with this email and a password, in every workspace (sign-in)."""
    return await conn.fetch_all(
        "SELECT u.id, u.workspace_id, u.password_hash FROM users u"
        " WHERE u.email = ? AND u.active = 1 AND u.password_hash IS NOT NULL ORDER BY u.id",
        email,
    )


async def signed_in_users(conn: Connection, user_ids: list[int]) -> list[Row]:
    """The active users among ``user_ids`` (a session's), with their workspaces' names."""
    if not user_ids:
        return []
    marks = ", ".join("?" * len(user_ids))
    return await conn.fetch_all(
        "SELECT u.id, u.workspace_id, u.first_name, u.last_name, u.email, u.role,"
        " w.name AS workspace_name FROM users u JOIN workspaces w ON w.id = u.workspace_id"
        f" WHERE u.id IN ({marks}) AND u.active = 1 ORDER BY w.name, w.id",
        *user_ids,
    )


async def set_password(sc: Scope[Transaction], user_id: int, *, password_hash: str) -> bool:
    return (
        await sc.conn.execute(
            "UPDATE users SET password_hash = ? WHERE workspace_id = ? AND id = ?",
            password_hash,
            sc.ws,
            user_id,
        )
        > 0
    )


async def insert_link(
    sc: Scope[Transaction],
    user_id: int,
    *,
    purpose: str,
    token_hash: str,
    now: int,
    expires_at: int,
) -> None:
    await sc.conn.execute(
        "INSERT INTO user_links (workspace_id, user_id, purpose, token_hash, created_at,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        sc.ws,
        user_id,
        purpose,
        token_hash,
        now,
        expires_at,
    )


async def find_link(conn: Connection, token_hash: str) -> Row | None:
    """A link by its token's hash, with its user (any workspace: the token is the key)."""
    return await conn.fetch_one(
        "SELECT l.id, l.workspace_id, l.user_id, l.purpose, l.expires_at, l.used_at,"
        " u.email, u.first_name, u.active, w.name AS workspace_name"
        " FROM user_links l JOIN users u ON u.id = l.user_id"
        " JOIN workspaces w ON w.id = l.workspace_id WHERE l.token_hash = ?",
        token_hash,
    )


async def use_link(tx: Transaction, link_id: int, *, now: int) -> bool:
    """Mark a link used; False when another request used it first (by the link's id, from
    ``find_link``)."""
    return (
        await tx.execute(
            "UPDATE user_links SET used_at = ? WHERE id = ? AND used_at IS NULL", now, link_id
        )
        == 1
    )


async def insert_session(
    tx: Transaction, *, token_hash: str, csrf: str, users: str, now: int, expires_at: int
) -> None:
    """A browser session (of a person, who may be a user of several workspaces)."""
    await tx.execute(
        "INSERT INTO web_sessions (token_hash, csrf, users, created_at, seen_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        token_hash,
        csrf,
        users,
        now,
        now,
        expires_at,
    )


async def find_session(conn: Connection, token_hash: str) -> Row | None:
    """A session by its cookie token's hash (the token is the key)."""
    return await conn.fetch_one(
        "SELECT id, csrf, users, created_at, seen_at, expires_at FROM web_sessions"
        " WHERE token_hash = ?",
        token_hash,
    )


async def touch_session(tx: Transaction, session_id: int, *, now: int) -> None:
    await tx.execute("UPDATE web_sessions SET seen_at = ? WHERE id = ?", now, session_id)


async def delete_session(tx: Transaction, session_id: int) -> None:
    """Sign-out, or a session found expired."""
    await tx.execute("DELETE FROM web_sessions WHERE id = ?", session_id)


async def delete_sessions_of(sc: Scope[Transaction], user_id: int) -> int:
    """End every session that holds ``user_id`` (a password reset, a deactivation). The
    session table has no workspace column: the user id, checked to be of ``sc.ws``, is."""
    rows = await sc.conn.fetch_all(
        "SELECT s.id, s.users FROM web_sessions s WHERE EXISTS"
        " (SELECT 1 FROM users u WHERE u.workspace_id = ? AND u.id = ?)"
        " AND s.users LIKE ?",
        sc.ws,
        user_id,
        f"%{user_id}%",
    )
    ended = 0
    for row in rows:
        if user_id in _ids(row["users"]):
            await sc.conn.execute("DELETE FROM web_sessions WHERE id = ?", row["id"])
            ended += 1
    return ended


def _ids(users: str) -> list[int]:
    return [int(part) for part in users.split(",") if part]


async def record_failure(tx: Transaction, keys: list[str], *, at_ms: int, keep_ms: int) -> None:
    """A failed sign-in under each of ``keys``; failures older than ``keep_ms`` are dropped."""
    await tx.execute_many(
        "INSERT INTO sign_in_failures (bucket, at_ms) VALUES (?, ?)", [(k, at_ms) for k in keys]
    )
    await tx.execute("DELETE FROM sign_in_failures WHERE at_ms < ?", at_ms - keep_ms)


async def count_failures(conn: Connection, key: str, *, since_ms: int) -> tuple[int, int]:
    """(failures under ``key`` since ``since_ms``, the oldest one's time in ms or 0)."""
    row = await conn.fetch_one(
        "SELECT count(*) AS n, min(at_ms) AS oldest FROM sign_in_failures"
        " WHERE bucket = ? AND at_ms >= ?",
        key,
        since_ms,
    )
    assert row is not None
    return int(row["n"]), int(row["oldest"] or 0)


async def clear_failures(tx: Transaction, key: str) -> None:
    """Forget the failures under ``key`` (the account signed in)."""
    await tx.execute("DELETE FROM sign_in_failures WHERE bucket = ?", key)
