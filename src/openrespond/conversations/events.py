"""Events about conversations and comments, with the conversation or comment as the
transaction sees it."""

from __future__ import annotations

import msgspec

from openrespond import outbox
from openrespond.contacts.events import contact_doc
from openrespond.db import Connection, Row, Scope, Transaction

__all__ = [
    "CommentInfo",
    "ConversationInfo",
    "UserRef",
    "comment_info",
    "conversation_info",
    "emit_comment",
    "emit_conversation",
]


class UserRef(msgspec.Struct):
    id: int
    first_name: str = msgspec.field(name="firstName")
    last_name: str | None = msgspec.field(name="lastName")
    email: str


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


async def emit_conversation(
    sc: Scope[Transaction],
    event_type: outbox.EventName,
    *,
    contact_id: int,
    conversation_id: int,
) -> str | None:
    """Queue ``event_type`` with the contact and the conversation."""

    async def build() -> outbox.Payload:
        return outbox.Payload(
            contact=await contact_doc(sc, contact_id),
            conversation=await conversation_info(sc, conversation_id),
        )

    return await outbox.emit(sc, event_type, contact_id=contact_id, build=build)


async def emit_comment(sc: Scope[Transaction], contact_id: int, *, comment_id: int) -> str | None:
    """Queue ``comment.created`` with the contact and the comment."""

    async def build() -> outbox.Payload:
        return outbox.Payload(
            contact=await contact_doc(sc, contact_id),
            comment=await comment_info(sc, comment_id),
        )

    return await outbox.emit(sc, "comment.created", contact_id=contact_id, build=build)


async def _user(sc: Scope[Connection], user_id: int | None) -> UserRef | None:
    if user_id is None:
        return None
    row = await sc.conn.fetch_one(
        "SELECT id, first_name, last_name, email FROM users WHERE workspace_id = ? AND id = ?",
        sc.ws,
        user_id,
    )
    if row is None:
        return None
    return UserRef(
        id=row["id"], first_name=row["first_name"], last_name=row["last_name"], email=row["email"]
    )


async def conversation_info(sc: Scope[Connection], conversation_id: int) -> ConversationInfo:
    row: Row | None = await sc.conn.fetch_one(
        "SELECT * FROM conversations WHERE workspace_id = ? AND id = ?", sc.ws, conversation_id
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
        closed_by=await _user(sc, row["closed_by_user_id"]),
        closed_by_source=row["closed_by_source"],
        first_response_time=None if first is None else first - opened,
        resolution_time=None if closed is None else closed - opened,
        incoming_message_count=row["incoming_count"],
        outgoing_message_count=row["outgoing_count"],
        assignee=await _user(sc, row["assignee_user_id"]),
        assignee_team=None,
        last_assignment_time=row["last_assignment_at"],
    )


async def comment_info(sc: Scope[Connection], comment_id: int) -> CommentInfo:
    row = await sc.conn.fetch_one(
        "SELECT id, text, created_at FROM comments WHERE workspace_id = ? AND id = ?",
        sc.ws,
        comment_id,
    )
    assert row is not None
    users = await sc.conn.fetch_all(
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
