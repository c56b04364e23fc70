"""Events of API.md §7, written in the transaction of the change that caused them.

An event is stored only when an enabled subscription of the workspace wants its type: its
body — the exact bytes that are signed and posted — is built from the rows as the
transaction sees them, and one delivery per subscription is queued beside it. Nothing is
lost if the process dies after the commit: the deliveries wait in the database.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, get_args

import msgspec

from openrespond import signals
from openrespond.db import Connection, Row, Transaction, sql
from openrespond.webhooks.schemas import EventType

__all__ = [
    "EVENT_TYPES",
    "ChannelInfo",
    "CommentInfo",
    "ConversationInfo",
    "UserRef",
    "channel_info",
    "comment_info",
    "contact_doc",
    "conversation_info",
    "emit",
]

EVENT_TYPES: tuple[str, ...] = tuple(t for t in get_args(EventType) if t != "*")


class UserRef(msgspec.Struct):
    id: int
    first_name: str = msgspec.field(name="firstName")
    last_name: str | None = msgspec.field(name="lastName")
    email: str


class ChannelInfo(msgspec.Struct):
    """The channel a message went through, with the contact's times on it."""

    id: int
    name: str
    source: str
    meta: dict[str, Any] | None
    created_at: int
    last_message_time: int | None = msgspec.field(name="lastMessageTime")
    last_incoming_message_time: int | None = msgspec.field(name="lastIncomingMessageTime")


class ConversationInfo(msgspec.Struct):
    """A conversation as ``conversation.opened`` / ``conversation.closed`` carry it. Times are
    Unix seconds; ``firstResponseTime`` and ``resolutionTime`` are durations in seconds."""

    id: int
    status: str
    category: str | None
    summary: str | None
    opened_time: int = msgspec.field(name="openedTime")
    opened_by_source: str = msgspec.field(name="openedBySource")
    closed_time: int | None = msgspec.field(name="closedTime")
    closed_by: UserRef | None = msgspec.field(name="closedBy")
    closed_by_source: str | None = msgspec.field(name="closedBySource")
    first_response_time: int | None = msgspec.field(name="firstResponseTime")
    resolution_time: int | None = msgspec.field(name="resolutionTime")
    incoming_message_count: int = msgspec.field(name="incomingMessageCount")
    outgoing_message_count: int = msgspec.field(name="outgoingMessageCount")
    assignee: UserRef | None
    assignee_team: None = msgspec.field(name="assigneeTeam")
    last_assignment_time: int | None = msgspec.field(name="lastAssignmentTime")


class CommentInfo(msgspec.Struct):
    id: int
    text: str
    mentions: list[UserRef]
    created_at: int


class _Envelope(msgspec.Struct, omit_defaults=True):
    event_id: str
    event_type: str
    timestamp: int
    contact: msgspec.Raw | None
    message: Any = None
    channel: ChannelInfo | None = None
    conversation: ConversationInfo | None = None
    comment: CommentInfo | None = None


_ENCODER = msgspec.json.Encoder()


async def contact_doc(conn: Connection, ws: int, contact_id: int) -> bytes | None:
    """The contact's REST JSON as stored (UTF-8 bytes)."""
    doc: str | bytes | None = await conn.fetch_val(
        f"SELECT {sql.as_bytes(conn.dialect, 'doc')} FROM contacts"
        " WHERE workspace_id = ? AND id = ?",
        ws,
        contact_id,
    )
    return doc.encode() if isinstance(doc, str) else doc


async def subscribers(conn: Connection, ws: int, event_type: str) -> list[int]:
    """Enabled subscriptions of ``ws`` that want ``event_type``."""
    rows = await conn.fetch_all(
        "SELECT id, events FROM webhooks WHERE workspace_id = ? AND enabled = 1", ws
    )
    return [
        r["id"] for r in rows if (types := json.loads(r["events"])) == ["*"] or event_type in types
    ]


async def emit(
    tx: Transaction,
    ws: int,
    event_type: str,
    contact_id: int,
    *,
    contact: bytes | None = None,
    message_id: int | None = None,
    channel_id: int | None = None,
    conversation_id: int | None = None,
    comment_id: int | None = None,
) -> str | None:
    """Queue ``event_type`` about ``contact_id`` for every subscription that wants it; the
    event's id, or None when nobody subscribes (then nothing is read or written beyond one
    lookup). The payload carries the message, channel, conversation or comment named by id,
    as the transaction sees them; ``contact`` replaces the stored contact (``contact.deleted``
    passes the contact as it was)."""
    assert event_type in EVENT_TYPES, event_type
    # One lookup per workspace and type in a transaction (a delivery batch emits many).
    key = ("webhook subscribers", ws, event_type)
    hooks = tx.memo.get(key)
    if hooks is None:
        hooks = tx.memo[key] = await subscribers(tx, ws, event_type)
    if not hooks:
        return None
    if contact is None:
        contact = await contact_doc(tx, ws, contact_id)
    message = None
    if message_id is not None:
        from openrespond.messages import repository as messages_repo
        from openrespond.messages.service import record_from_row

        row = await messages_repo.get_in_workspace(tx, ws, message_id)
        assert row is not None
        message = record_from_row(row)
        channel_id = row["channel_id"]
    uid = f"evt_{uuid.uuid4().hex}"
    now_ms = int(time.time() * 1000)
    body = _ENCODER.encode(
        _Envelope(
            event_id=uid,
            event_type=event_type,
            timestamp=now_ms // 1000,
            contact=msgspec.Raw(contact) if contact is not None else None,
            message=message,
            channel=None
            if channel_id is None
            else await channel_info(tx, ws, contact_id, channel_id),
            conversation=(
                None
                if conversation_id is None
                else await conversation_info(tx, ws, conversation_id)
            ),
            comment=None if comment_id is None else await comment_info(tx, ws, comment_id),
        )
    )
    event_id = await tx.fetch_val(
        "INSERT INTO events (workspace_id, uid, type, body, created_ms) VALUES (?, ?, ?, ?, ?)"
        " RETURNING id",
        ws,
        uid,
        event_type,
        body,
        now_ms,
    )
    await tx.execute_many(
        "INSERT INTO webhook_deliveries (workspace_id, webhook_id, event_id, run_at, queued_ms)"
        " VALUES (?, ?, ?, ?, ?)",
        [(ws, hook, event_id, now_ms, now_ms) for hook in hooks],
    )
    tx.announce(signals.events)
    return uid


async def _user(conn: Connection, ws: int, user_id: int | None) -> UserRef | None:
    if user_id is None:
        return None
    row = await conn.fetch_one(
        "SELECT id, first_name, last_name, email FROM users WHERE workspace_id = ? AND id = ?",
        ws,
        user_id,
    )
    if row is None:
        return None
    return UserRef(
        id=row["id"], first_name=row["first_name"], last_name=row["last_name"], email=row["email"]
    )


async def conversation_info(conn: Connection, ws: int, conversation_id: int) -> ConversationInfo:
    row: Row | None = await conn.fetch_one(
        "SELECT * FROM conversations WHERE workspace_id = ? AND id = ?", ws, conversation_id
    )
    assert row is not None
    opened, closed, first = row["opened_at"], row["closed_at"], row["first_response_at"]
    return ConversationInfo(
        id=row["id"],
        status="open" if closed is None else "closed",
        category=row["category"],
        summary=row["summary"],
        opened_time=opened,
        opened_by_source=row["opened_by_source"],
        closed_time=closed,
        closed_by=await _user(conn, ws, row["closed_by_user_id"]),
        closed_by_source=row["closed_by_source"],
        first_response_time=None if first is None else first - opened,
        resolution_time=None if closed is None else closed - opened,
        incoming_message_count=row["incoming_count"],
        outgoing_message_count=row["outgoing_count"],
        assignee=await _user(conn, ws, row["assignee_user_id"]),
        assignee_team=None,
        last_assignment_time=row["last_assignment_at"],
    )


async def channel_info(conn: Connection, ws: int, contact_id: int, channel_id: int) -> ChannelInfo:
    row: Row | None = await conn.fetch_one(
        "SELECT ch.id, ch.name, ch.source, ch.created_at, cc.last_message_time,"
        " cc.last_incoming_message_time FROM channels ch"
        " LEFT JOIN contact_channels cc ON cc.channel_id = ch.id AND cc.contact_id = ?"
        " WHERE ch.workspace_id = ? AND ch.id = ?",
        contact_id,
        ws,
        channel_id,
    )
    assert row is not None
    return ChannelInfo(
        id=row["id"],
        name=row["name"],
        source=row["source"],
        meta=None,
        created_at=row["created_at"],
        last_message_time=row["last_message_time"],
        last_incoming_message_time=row["last_incoming_message_time"],
    )


async def comment_info(conn: Connection, ws: int, comment_id: int) -> CommentInfo:
    row = await conn.fetch_one(
        "SELECT id, text, created_at FROM comments WHERE workspace_id = ? AND id = ?",
        ws,
        comment_id,
    )
    assert row is not None
    users = await conn.fetch_all(
        "SELECT u.id, u.first_name, u.last_name, u.email FROM comment_mentions m"
        " JOIN users u ON u.id = m.user_id WHERE m.comment_id = ? ORDER BY u.id",
        comment_id,
    )
    return CommentInfo(
        id=row["id"],
        text=row["text"],
        mentions=[
            UserRef(
                id=u["id"], first_name=u["first_name"], last_name=u["last_name"], email=u["email"]
            )
            for u in users
        ],
        created_at=row["created_at"],
    )
