"""SQL for messages and contact-channel links. Every statement starts from the workspace id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openrespond import outbox
from openrespond.db import Connection, Row, Scope, Transaction, sql
from openrespond.db.paging import Cursor, PageRows, fetch_page
from openrespond.messages.statuses import moves_forward

__all__ = [
    "SELECT",
    "Delivery",
    "append_status",
    "apply_early_statuses_many",
    "channel_link",
    "contact_for_address",
    "contact_for_external_id",
    "file_by_token",
    "get",
    "get_in_workspace",
    "insert",
    "insert_file",
    "known_locations",
    "last_interacted_channel",
    "link",
    "move_to",
    "page",
    "record_deliveries",
    "report_status",
    "stranded_early_statuses",
    "taken_channel_ids",
    "touch_link",
]

SELECT = (
    "SELECT m.id, m.channel_message_id, m.contact_id, m.channel_id, m.traffic, m.content,"
    " m.statuses, m.status, m.sender_source, m.sender_user_id, m.created_at, m.workspace_id"
    " FROM messages m"
)


async def insert(
    sc: Scope[Connection],
    *,
    contact_id: int,
    channel_id: int,
    traffic: str,
    type_: str,
    content: bytes,
    statuses: bytes,
    status: str | None,
    sender_source: str | None,
    sender_user_id: int | None,
    channel_message_id: str | None,
    now: int,
) -> int:
    message_id: int = await sc.conn.fetch_val(
        "INSERT INTO messages (workspace_id, contact_id, channel_id, traffic, type, content,"
        " statuses, status, sender_source, sender_user_id, channel_message_id, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        sc.ws,
        contact_id,
        channel_id,
        traffic,
        type_,
        content.decode(),
        statuses.decode(),
        status,
        sender_source,
        sender_user_id,
        channel_message_id,
        now,
        now,
    )
    return message_id


async def get(sc: Scope[Connection], contact_id: int, *, message_id: int) -> Row | None:
    return await sc.conn.fetch_one(
        f"{SELECT} WHERE m.workspace_id = ? AND m.contact_id = ? AND m.id = ?",
        sc.ws,
        contact_id,
        message_id,
    )


async def get_in_workspace(
    sc: Scope[Connection], message_id: int, *, for_update: bool = False
) -> Row | None:
    """The message; with ``for_update``, locked until the transaction ends (a status
    history is read, then appended to)."""
    lock = sql.for_update(sc.conn.dialect) if for_update else ""
    return await sc.conn.fetch_one(
        f"{SELECT} WHERE m.workspace_id = ? AND m.id = ?{lock}",
        sc.ws,
        message_id,
    )


async def page(
    sc: Scope[Connection], contact_id: int, *, cursor: Cursor, channel_id: int | None = None
) -> PageRows:
    """The contact's messages (on one channel when given), newest first."""
    where = "m.contact_id = ?"
    args: tuple[int, ...] = (contact_id,)
    if channel_id is not None:
        where += " AND m.channel_id = ?"
        args += (channel_id,)
    return await fetch_page(
        sc,
        select=SELECT,
        workspace="m.workspace_id",
        where=where,
        args=args,
        cursor=cursor,
        key="m.id",
        descending=True,
    )


async def append_status(
    sc: Scope[Transaction], message_id: int, *, status: bytes, value: str, now: int
) -> None:
    """Add one ``{value, timestamp, message?}`` (JSON in ``status``) to the history."""
    await sc.conn.execute(
        f"UPDATE messages SET statuses = {sql.json_append(sc.conn.dialect, 'statuses', 1)},"
        " status = ?, updated_at = ? WHERE id = ? AND workspace_id = ?",
        status.decode(),
        value,
        now,
        message_id,
        sc.ws,
    )
    await outbox.statuses_changed(sc.conn, [message_id])


async def report_status(
    sc: Scope[Transaction],
    message: Row,
    *,
    value: str,
    status: bytes,
    now: int,
) -> bool:
    """Append a channel's report (``status``, its JSON entry) about ``message``, a row of
    this workspace the caller read locked in this transaction, when it moves the message
    forward (see ``messages.statuses``); whether it did. Anything else changes nothing:
    reports come late, twice and out of order."""
    if message["workspace_id"] != sc.ws or not moves_forward(message["status"], value):
        return False
    await append_status(sc, message["id"], status=status, value=value, now=now)
    return True


@dataclass(slots=True)
class Delivery:
    """A delivery attempt's outcome for one message: the channel's id for it, if any, and
    the statuses (JSON objects) to append to its history."""

    message_id: int
    channel_id: int
    channel_message_id: str | None
    entries: list[bytes]
    status: str | None


async def record_deliveries(conn: Transaction, deliveries: Sequence[Delivery], *, now: int) -> None:
    """Each delivery in one statement per number of statuses (usually one for the batch)."""
    groups: dict[int, list[tuple[Any, ...]]] = {}
    for d in deliveries:
        groups.setdefault(len(d.entries), []).append(
            (
                *(e.decode() for e in d.entries),
                d.status,
                d.channel_message_id,
                now,
                d.message_id,
            )
        )
    for count, rows in groups.items():
        await conn.execute_many(
            f"UPDATE messages SET statuses = {sql.json_append(conn.dialect, 'statuses', count)},"
            " status = COALESCE(?, status), channel_message_id = COALESCE(?, channel_message_id),"
            " updated_at = ? WHERE id = ?",
            rows,
        )
    await outbox.statuses_changed(conn, [d.message_id for d in deliveries if d.entries])


async def taken_channel_ids(
    conn: Connection, deliveries: Sequence[Delivery]
) -> set[tuple[int, str]]:
    """(channel, channel message id) pairs of ``deliveries`` that other messages hold."""
    wanted: dict[int, dict[str, int]] = {}
    for d in deliveries:
        if d.channel_message_id is not None:
            wanted.setdefault(d.channel_id, {})[d.channel_message_id] = d.message_id
    taken: set[tuple[int, str]] = set()
    for channel_id, ids in wanted.items():
        marks = ", ".join("?" * len(ids))
        for row in await conn.fetch_all(
            "SELECT channel_message_id, id FROM messages WHERE channel_id = ?"
            f" AND channel_message_id IN ({marks})",
            channel_id,
            *ids,
        ):
            if row[1] != ids[row[0]]:
                taken.add((channel_id, row[0]))
    return taken


async def move_to(sc: Scope[Connection], *, primary: int, secondary: int) -> None:
    """Give the secondary contact's messages, and the files they link to, to the primary
    (merge)."""
    await sc.conn.execute(
        "UPDATE messages SET contact_id = ? WHERE workspace_id = ? AND contact_id = ?",
        primary,
        sc.ws,
        secondary,
    )
    await sc.conn.execute(
        "UPDATE files SET contact_id = ? WHERE workspace_id = ? AND contact_id = ?",
        primary,
        sc.ws,
        secondary,
    )
    await sc.conn.execute(
        "UPDATE contacts SET"
        " last_message_id = COALESCE((SELECT max(id) FROM messages"
        "  WHERE workspace_id = ? AND contact_id = ?), 0),"
        " last_incoming_id = COALESCE((SELECT max(id) FROM messages"
        "  WHERE workspace_id = ? AND contact_id = ? AND traffic = 'incoming'), 0)"
        " WHERE workspace_id = ? AND id = ?",
        *(sc.ws, primary) * 3,
    )


async def channel_link(sc: Scope[Connection], contact_id: int, *, channel_id: int) -> Row | None:
    return await sc.conn.fetch_one(
        "SELECT id, address, last_incoming_message_time FROM contact_channels"
        " WHERE workspace_id = ? AND contact_id = ? AND channel_id = ?",
        sc.ws,
        contact_id,
        channel_id,
    )


async def contact_for_address(
    sc: Scope[Connection], channel_id: int, *, address: str
) -> int | None:
    """The contact linked to ``channel_id`` under ``address``, if any."""
    found: int | None = await sc.conn.fetch_val(
        "SELECT contact_id FROM contact_channels"
        " WHERE workspace_id = ? AND channel_id = ? AND address = ? ORDER BY id LIMIT 1",
        sc.ws,
        channel_id,
        address,
    )
    return found


async def contact_for_external_id(
    sc: Scope[Connection], channel_id: int, *, external_id: str
) -> int | None:
    """The contact linked to ``channel_id`` with that other id (WhatsApp's user id)."""
    found: int | None = await sc.conn.fetch_val(
        "SELECT contact_id FROM contact_channels"
        " WHERE workspace_id = ? AND channel_id = ? AND (external_id = ? OR address = ?)"
        " ORDER BY id LIMIT 1",
        sc.ws,
        channel_id,
        external_id,
        external_id,
    )
    return found


async def link(
    sc: Scope[Connection],
    *,
    contact_id: int,
    channel_id: int,
    address: str,
    now: int,
    external_id: str | None = None,
) -> None:
    """Link the contact to the channel under ``address`` (kept when linked already); a
    link's other id is filled in when it becomes known."""
    await sc.conn.execute(
        "INSERT INTO contact_channels (workspace_id, contact_id, channel_id, address,"
        " external_id, created_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (contact_id, channel_id) DO NOTHING",
        sc.ws,
        contact_id,
        channel_id,
        address,
        external_id,
        now,
    )
    if external_id is not None:
        await sc.conn.execute(
            "UPDATE contact_channels SET external_id = ? WHERE workspace_id = ?"
            " AND contact_id = ? AND channel_id = ? AND external_id IS NULL",
            external_id,
            sc.ws,
            contact_id,
            channel_id,
        )


async def touch_link(
    sc: Scope[Connection], *, contact_id: int, channel_id: int, now: int, incoming: bool
) -> None:
    """Record a message on the link: last message time, and last incoming time when it is."""
    # The later time wins: a message applied late (a provider's file fetched after a
    # retry) must not move the 24-hour window or the last interaction back.
    await sc.conn.execute(
        "UPDATE contact_channels SET last_message_time = CASE"
        " WHEN last_message_time IS NULL OR last_message_time < ? THEN ?"
        " ELSE last_message_time END,"
        " last_incoming_message_time = CASE WHEN ? AND (last_incoming_message_time IS NULL"
        " OR last_incoming_message_time < ?) THEN ? ELSE last_incoming_message_time END"
        " WHERE workspace_id = ? AND contact_id = ? AND channel_id = ?",
        now,
        now,
        incoming,
        now,
        now,
        sc.ws,
        contact_id,
        channel_id,
    )


async def last_interacted_channel(sc: Scope[Connection], contact_id: int) -> int | None:
    """The channel of the contact's latest message in or out; else its newest link."""
    found: int | None = await sc.conn.fetch_val(
        "SELECT channel_id FROM contact_channels WHERE workspace_id = ? AND contact_id = ?"
        " ORDER BY COALESCE(last_message_time, 0) DESC, id DESC LIMIT 1",
        sc.ws,
        contact_id,
    )
    return found


async def by_channel_message(
    conn: Connection, channel_id: int, *, channel_message_id: str, for_update: bool = False
) -> Row | None:
    """The message a channel knows by ``channel_message_id``; with ``for_update``, locked
    until the transaction ends."""
    lock = sql.for_update(conn.dialect) if for_update else ""
    return await conn.fetch_one(
        f"{SELECT} WHERE m.channel_id = ? AND m.channel_message_id = ?{lock}",
        channel_id,
        channel_message_id,
    )


async def stash_early_status(
    conn: Connection,
    channel_id: int,
    *,
    channel_message_id: str,
    status: bytes,
    value: str,
    now: int,
) -> None:
    """Keep a status reported for a message id not recorded yet."""
    await conn.execute(
        "INSERT INTO early_statuses (channel_id, channel_message_id, status, value, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        channel_id,
        channel_message_id,
        status.decode(),
        value,
        now,
    )
    # Reports for ids that never turn up are dropped after a day.
    await conn.execute("DELETE FROM early_statuses WHERE created_at < ?", now - 86_400)


async def stranded_early_statuses(conn: Connection, *, limit: int = 500) -> list[tuple[int, str]]:
    """(channel, channel message id) of reports kept for a message whose id is now
    recorded: under PostgreSQL's READ COMMITTED a report can be kept by one transaction
    while another records the id, each unseen by the other."""
    rows = await conn.fetch_all(
        "SELECT DISTINCT e.channel_id, e.channel_message_id FROM early_statuses e"
        " WHERE EXISTS (SELECT 1 FROM messages m WHERE m.channel_id = e.channel_id"
        " AND m.channel_message_id = e.channel_message_id) LIMIT ?",
        limit,
    )
    return [(r[0], r[1]) for r in rows]


async def apply_early_statuses_many(conn: Transaction, pairs: Sequence[tuple[int, str]]) -> None:
    """``apply_early_statuses`` for many (channel, channel message id) pairs: one lookup per
    channel, and work only for the few that had early reports."""
    by_channel: dict[int, list[str]] = {}
    for channel_id, m_id in pairs:
        by_channel.setdefault(channel_id, []).append(m_id)
    for channel_id, m_ids in by_channel.items():
        marks = ", ".join("?" * len(m_ids))
        waiting = await conn.fetch_all(
            "SELECT DISTINCT channel_message_id FROM early_statuses WHERE channel_id = ?"
            f" AND channel_message_id IN ({marks})",
            channel_id,
            *m_ids,
        )
        for row in waiting:
            await apply_early_statuses(conn, channel_id, channel_message_id=row[0])


async def apply_early_statuses(
    conn: Transaction, channel_id: int, *, channel_message_id: str
) -> None:
    """Append the statuses reported before the message's channel id was recorded."""
    rows = await conn.fetch_all(
        "DELETE FROM early_statuses WHERE channel_id = ? AND channel_message_id = ?"
        " RETURNING id, status, value, created_at",
        channel_id,
        channel_message_id,
    )
    for row in sorted(rows, key=lambda r: r["id"]):
        message = await by_channel_message(
            conn, channel_id, channel_message_id=channel_message_id, for_update=True
        )
        if message is None:
            return
        await report_status(
            Scope(conn, message["workspace_id"]),
            message,
            value=row["value"],
            status=row["status"].encode(),
            now=row["created_at"],
        )


async def insert_file(
    sc: Scope[Transaction],
    contact_id: int,
    *,
    token: str,
    name: str,
    content_type: str,
    data: bytes,
    now: int,
    location: str | None = None,
    size: int | None = None,
) -> None:
    """A file attached to the contact's messages (deleted with the contact): its bytes in
    ``data``, or at ``location`` in the media directory (``data`` empty, ``size`` given)."""
    await sc.conn.execute(
        "INSERT INTO files (workspace_id, contact_id, token, name, content_type, size, data,"
        " location, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        sc.ws,
        contact_id,
        token,
        name,
        content_type,
        len(data) if size is None else size,
        data,
        location,
        now,
    )


async def file_by_token(conn: Connection, token: str) -> Row | None:
    """A file by its token (any workspace: the token, given only in the message's link, is
    the key)."""
    return await conn.fetch_one(
        "SELECT name, content_type, size, data, location FROM files WHERE token = ?", token
    )


async def known_locations(conn: Connection, locations: Sequence[str]) -> set[str]:
    """Which of ``locations`` (files in the media directory) rows still point to."""
    if not locations:
        return set()
    marks = ", ".join("?" * len(locations))
    rows = await conn.fetch_all(
        f"SELECT location FROM files WHERE location IN ({marks})", *locations
    )
    return {r[0] for r in rows}
