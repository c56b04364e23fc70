"""SQL for the inbox: the list of conversations (one row per contact, newest activity first),
a contact's timeline, and what each user has read."""

from __future__ import annotations

from typing import Any

from openrespond.db import Connection, Row, Scope, Transaction

__all__ = [
    "ROW_SELECT",
    "comments",
    "contact_channels",
    "list_rows",
    "mark_read",
    "message_time",
    "messages",
    "tag_names",
    "template_components",
    "unread_count",
    "unseen",
]

# A row of the list: the contact, its newest message with that message's channel, its
# assignee, and what the reading user has seen of it (0: nothing).
ROW_SELECT = (
    "SELECT c.id, c.first_name, c.last_name, c.email, c.phone, c.status, c.profile_pic,"
    " c.assignee_user_id, c.last_message_id, c.last_incoming_id,"
    " a.first_name AS assignee_first_name, a.last_name AS assignee_last_name,"
    " m.type AS message_type, m.content AS message_content, m.traffic AS message_traffic,"
    " m.created_at AS message_at, ch.name AS channel_name, ch.source AS channel_source,"
    " COALESCE(r.message_id, 0) AS read_id"
    " FROM contacts c"
    " LEFT JOIN users a ON a.id = c.assignee_user_id"
    " LEFT JOIN messages m ON m.id = c.last_message_id"
    " LEFT JOIN channels ch ON ch.id = m.channel_id"
    " LEFT JOIN message_reads r ON r.user_id = ? AND r.contact_id = c.id"
)


async def list_rows(
    sc: Scope[Connection],
    *,
    user_id: int,
    status: str,
    where: str,
    args: list[Any],
    after: tuple[int, int] | None,
    limit: int,
) -> list[Row]:
    """Up to ``limit`` rows of contacts in ``status`` (``open``/``close``) matching ``where``,
    newest activity first, after the keyset ``after`` (last message id, contact id)."""
    sql = f"{ROW_SELECT} WHERE c.workspace_id = ? AND c.status = ?"
    params: list[Any] = [user_id, sc.ws, status]
    if where:
        sql += f" AND {where}"
        params.extend(args)
    if after is not None:
        sql += " AND (c.last_message_id < ? OR (c.last_message_id = ? AND c.id < ?))"
        params.extend([after[0], after[0], after[1]])
    sql += " ORDER BY c.last_message_id DESC, c.id DESC LIMIT ?"
    params.append(limit)
    return await sc.conn.fetch_all(sql, *params)


async def unread_count(sc: Scope[Connection], *, user_id: int, where: str, args: list[Any]) -> int:
    """Open conversations matching ``where`` with an incoming message ``user_id`` has not
    seen."""
    sql = (
        "SELECT count(*) FROM contacts c"
        " LEFT JOIN message_reads r ON r.user_id = ? AND r.contact_id = c.id"
        " WHERE c.workspace_id = ? AND c.status = 'open'"
        " AND c.last_incoming_id > COALESCE(r.message_id, 0)"
    )
    if where:
        sql += f" AND {where}"
    return int(await sc.conn.fetch_val(sql, user_id, sc.ws, *args))


async def messages(
    sc: Scope[Connection], contact_id: int, *, before: int | None, limit: int
) -> list[Row]:
    """The contact's newest ``limit`` messages before message ``before`` (newest first)."""
    sql = (
        "SELECT m.id, m.channel_id, m.traffic, m.type, m.content, m.status, m.statuses,"
        " m.sender_source, m.sender_user_id, m.created_at, ch.name AS channel_name,"
        " ch.source AS channel_source, u.first_name AS sender_first_name"
        " FROM messages m JOIN channels ch ON ch.id = m.channel_id"
        " LEFT JOIN users u ON u.id = m.sender_user_id"
        " WHERE m.workspace_id = ? AND m.contact_id = ?"
    )
    args: list[Any] = [sc.ws, contact_id]
    if before is not None:
        sql += " AND m.id < ?"
        args.append(before)
    sql += " ORDER BY m.id DESC LIMIT ?"
    args.append(limit)
    return await sc.conn.fetch_all(sql, *args)


async def comments(
    sc: Scope[Connection], contact_id: int, *, since: int | None, until: int | None
) -> list[Row]:
    """The contact's comments from time ``since`` and before ``until`` (either end open when
    None), oldest first."""
    sql = (
        "SELECT n.id, n.text, n.created_at, u.first_name AS author FROM comments n"
        " LEFT JOIN users u ON u.id = n.user_id WHERE n.workspace_id = ? AND n.contact_id = ?"
    )
    args: list[Any] = [sc.ws, contact_id]
    if since is not None:
        sql += " AND n.created_at >= ?"
        args.append(since)
    if until is not None:
        sql += " AND n.created_at < ?"
        args.append(until)
    return await sc.conn.fetch_all(sql + " ORDER BY n.id", *args)


async def unseen(sc: Scope[Connection], *, user_id: int, contact_id: int) -> bool:
    found = await sc.conn.fetch_val(
        "SELECT 1 FROM contacts c LEFT JOIN message_reads r"
        " ON r.user_id = ? AND r.contact_id = c.id"
        " WHERE c.workspace_id = ? AND c.id = ? AND c.last_message_id > COALESCE(r.message_id, 0)",
        user_id,
        sc.ws,
        contact_id,
    )
    return found is not None


async def mark_read(sc: Scope[Transaction], *, user_id: int, contact_id: int) -> bool:
    """Record that ``user_id`` has seen the contact's newest message; True when that changed
    anything."""
    newest = await sc.conn.fetch_val(
        "SELECT last_message_id FROM contacts WHERE workspace_id = ? AND id = ?",
        sc.ws,
        contact_id,
    )
    if not newest:
        return False
    seen = await sc.conn.fetch_val(
        "SELECT message_id FROM message_reads WHERE user_id = ? AND contact_id = ?",
        user_id,
        contact_id,
    )
    if seen is not None and seen >= newest:
        return False
    if seen is None:
        await sc.conn.execute(
            "INSERT INTO message_reads (user_id, contact_id, message_id) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, contact_id) DO UPDATE SET message_id = excluded.message_id",
            user_id,
            contact_id,
            newest,
        )
    else:
        await sc.conn.execute(
            "UPDATE message_reads SET message_id = ? WHERE user_id = ? AND contact_id = ?"
            " AND message_id < ?",
            newest,
            user_id,
            contact_id,
            newest,
        )
    return True


async def message_time(sc: Scope[Connection], message_id: int) -> int | None:
    found: int | None = await sc.conn.fetch_val(
        "SELECT created_at FROM messages WHERE workspace_id = ? AND id = ?", sc.ws, message_id
    )
    return found


async def contact_channels(sc: Scope[Connection], contact_id: int) -> list[Row]:
    """The channels the contact is linked to, with its address on each (and the channel's
    settings, which say what a custom channel carries; never shown)."""
    return await sc.conn.fetch_all(
        "SELECT cc.channel_id, cc.address, ch.name, ch.source, ch.settings FROM contact_channels cc"
        " JOIN channels ch ON ch.id = cc.channel_id"
        " WHERE cc.workspace_id = ? AND cc.contact_id = ? ORDER BY cc.id",
        sc.ws,
        contact_id,
    )


async def tag_names(sc: Scope[Connection]) -> list[Row]:
    return await sc.conn.fetch_all(
        "SELECT id, name FROM tags WHERE workspace_id = ? ORDER BY name", sc.ws
    )


async def template_components(
    sc: Scope[Connection], *, channel_id: int, name: str, language: str
) -> str | None:
    """A channel's template's components (JSON), in the language asked for, else any."""
    found: str | None = await sc.conn.fetch_val(
        "SELECT components FROM templates WHERE workspace_id = ? AND channel_id = ? AND name = ?"
        " ORDER BY CASE WHEN language_code = ? THEN 0 ELSE 1 END, id LIMIT 1",
        sc.ws,
        channel_id,
        name,
        language,
    )
    return found
