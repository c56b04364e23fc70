"""SQL for conversations and comments. Every statement starts from the workspace id."""

from __future__ import annotations

from collections.abc import Sequence

from openrespond.db import Connection, Row, Scope

__all__ = [
    "close",
    "contact_assignee",
    "count_message",
    "insert_comment",
    "move_to",
    "open_conversation",
    "open_one",
    "set_assignee",
    "set_contact_state",
]

_COLUMNS = (
    "id, contact_id, opened_at, opened_by_source, closed_at, category, summary,"
    " assignee_user_id, first_response_at, incoming_count, outgoing_count"
)


async def open_one(sc: Scope[Connection], contact_id: int) -> Row | None:
    """The contact's open conversation, if it has one."""
    return await sc.conn.fetch_one(
        f"SELECT {_COLUMNS} FROM conversations"
        " WHERE workspace_id = ? AND contact_id = ? AND closed_at IS NULL",
        sc.ws,
        contact_id,
    )


async def contact_assignee(sc: Scope[Connection], contact_id: int) -> int | None:
    found: int | None = await sc.conn.fetch_val(
        "SELECT assignee_user_id FROM contacts WHERE workspace_id = ? AND id = ?", sc.ws, contact_id
    )
    return found


async def open_conversation(
    sc: Scope[Connection],
    contact_id: int,
    *,
    source: str,
    user_id: int | None,
    assignee_user_id: int | None,
    now: int,
) -> int:
    conversation_id: int = await sc.conn.fetch_val(
        "INSERT INTO conversations (workspace_id, contact_id, opened_at, opened_by_source,"
        " opened_by_user_id, assignee_user_id) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        sc.ws,
        contact_id,
        now,
        source,
        user_id,
        assignee_user_id,
    )
    return conversation_id


async def close(
    sc: Scope[Connection],
    conversation_id: int,
    *,
    source: str,
    category: str | None,
    summary: str | None,
    now: int,
    user_id: int | None = None,
) -> None:
    await sc.conn.execute(
        "UPDATE conversations SET closed_at = ?, closed_by_source = ?, closed_by_user_id = ?,"
        " category = ?, summary = ? WHERE workspace_id = ? AND id = ?",
        now,
        source,
        user_id,
        category,
        summary,
        sc.ws,
        conversation_id,
    )


async def set_contact_state(
    sc: Scope[Connection], contact_id: int, *, status: str, now: int
) -> None:
    await sc.conn.execute(
        "UPDATE contacts SET status = ?, updated_at = ? WHERE workspace_id = ? AND id = ?",
        status,
        now,
        sc.ws,
        contact_id,
    )


async def set_assignee(
    sc: Scope[Connection], contact_id: int, *, user_id: int | None, now: int
) -> None:
    """The contact's assignee, and its open conversation's (with the assignment time)."""
    await sc.conn.execute(
        "UPDATE contacts SET assignee_user_id = ?, updated_at = ? WHERE workspace_id = ? AND id = ?",
        user_id,
        now,
        sc.ws,
        contact_id,
    )
    await sc.conn.execute(
        "UPDATE conversations SET assignee_user_id = ?, last_assignment_at = ?"
        " WHERE workspace_id = ? AND contact_id = ? AND closed_at IS NULL",
        user_id,
        now,
        sc.ws,
        contact_id,
    )


async def count_message(
    sc: Scope[Connection], contact_id: int, *, message_id: int, incoming: bool, now: int
) -> None:
    """Count a message on the open conversation (the first reply sets its response time),
    and make it the contact's newest (the inbox's order and unread marker)."""
    if incoming:
        sql = "UPDATE conversations SET incoming_count = incoming_count + 1"
        newest = "last_message_id = ?, last_incoming_id = ?"
    else:
        sql = (
            "UPDATE conversations SET outgoing_count = outgoing_count + 1,"
            f" first_response_at = COALESCE(first_response_at, {int(now)})"
        )
        newest = "last_message_id = ?"
    await sc.conn.execute(
        f"{sql} WHERE workspace_id = ? AND contact_id = ? AND closed_at IS NULL", sc.ws, contact_id
    )
    await sc.conn.execute(
        f"UPDATE contacts SET {newest} WHERE workspace_id = ? AND id = ?",
        *((message_id, message_id) if incoming else (message_id,)),
        sc.ws,
        contact_id,
    )


async def insert_comment(
    sc: Scope[Connection],
    contact_id: int,
    *,
    text: str,
    mentions: Sequence[int],
    now: int,
    user_id: int | None = None,
) -> int:
    comment_id: int = await sc.conn.fetch_val(
        "INSERT INTO comments (workspace_id, contact_id, text, created_at, user_id)"
        " VALUES (?, ?, ?, ?, ?)"
        " RETURNING id",
        sc.ws,
        contact_id,
        text,
        now,
        user_id,
    )
    if mentions:
        await sc.conn.execute_many(
            "INSERT INTO comment_mentions (comment_id, user_id) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",
            [(comment_id, mentioned) for mentioned in mentions],
        )
    return comment_id


async def move_to(sc: Scope[Connection], *, primary: int, secondary: int, now: int) -> None:
    """Give the secondary's conversations and comments to the primary (merge).

    Where both have an open conversation the secondary's is closed first, so the primary
    keeps exactly one.
    """
    if await open_one(sc, primary) is not None:
        await sc.conn.execute(
            "UPDATE conversations SET closed_at = ?, closed_by_source = 'merge'"
            " WHERE workspace_id = ? AND contact_id = ? AND closed_at IS NULL",
            now,
            sc.ws,
            secondary,
        )
    for table in ("conversations", "comments"):
        await sc.conn.execute(
            f"UPDATE {table} SET contact_id = ? WHERE workspace_id = ? AND contact_id = ?",
            primary,
            sc.ws,
            secondary,
        )
