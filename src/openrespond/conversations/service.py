"""Conversation rules: open and close, assignment, and comments with mentions."""

from __future__ import annotations

import re

from openrespond.common import now
from openrespond.contacts import events as contact_events
from openrespond.contacts.service import lock
from openrespond.conversations import events
from openrespond.conversations import repository as repo
from openrespond.conversations.schemas import AssigneeBody, CommentBody, ConversationStatusBody
from openrespond.db import Connection, Row, Scope, Transaction
from openrespond.errors import BadRequest
from openrespond.identifiers import Identifier
from openrespond.space import repository as space_repo
from openrespond.validation import clean, normalize_email

__all__ = [
    "add_comment",
    "assign",
    "ensure_open",
    "mentioned_users",
    "record_message",
    "resolve_user",
    "set_status",
]

_MENTION_ID = re.compile(r"\{\{@user\.(\d+)\}\}")
# User ids, like every id, stay within JavaScript's safe integers.
_MAX_ID = 2**53 - 1
_MENTION_EMAIL = re.compile(r"@\[([^\]\s]{1,254})\]")


async def ensure_open(
    sc: Scope[Transaction], contact_id: int, *, source: str, at: int, user_id: int | None = None
) -> bool:
    """Open the contact's conversation unless it is open; True when this opened it."""
    if await repo.open_one(sc, contact_id) is not None:
        return False
    assignee = await repo.contact_assignee(sc, contact_id)
    conversation_id = await repo.open_conversation(
        sc, contact_id, source=source, user_id=user_id, assignee_user_id=assignee, now=at
    )
    await repo.set_contact_state(sc, contact_id, status="open", now=at)
    await events.emit_conversation(
        sc, "conversation.opened", contact_id=contact_id, conversation_id=conversation_id
    )
    return True


async def set_status(
    sc: Scope[Transaction],
    ident: Identifier,
    *,
    body: ConversationStatusBody,
    user_id: int | None = None,
) -> int:
    """Open or close the contact's conversation (by ``user_id`` in the app, else by the API);
    closing again or opening again is a no-op."""
    contact_id: int = (await lock(sc, ident))["id"]
    at = now()
    source = "api" if user_id is None else "user"
    if body.status == "open":
        await ensure_open(sc, contact_id, source=source, at=at, user_id=user_id)
        return contact_id
    category = clean(body.category) if body.category else None
    if category is not None:
        known = [r["category"] for r in await space_repo.all_closing_notes(sc)]
        match = next((k for k in known if k.casefold() == category.casefold()), None)
        if match is None:
            raise BadRequest(
                f"category: {category[:64]!r} is not a closing-note category of this workspace"
                f" (known: {', '.join(known) or 'none'})"
            )
        category = match
    summary = clean(body.summary) if body.summary else None
    current = await repo.open_one(sc, contact_id)
    if current is not None:
        await repo.close(
            sc,
            current["id"],
            source=source,
            category=category,
            summary=summary,
            now=at,
            user_id=user_id,
        )
    await repo.set_contact_state(sc, contact_id, status="close", now=at)
    if current is not None:
        await events.emit_conversation(
            sc, "conversation.closed", contact_id=contact_id, conversation_id=current["id"]
        )
    return contact_id


async def resolve_user(sc: Scope[Connection], value: int | str, *, field: str) -> Row:
    """The workspace user ``value`` names: an id, a numeric string, ``id:<n>``, ``email:<a>``
    or a plain email; 400 naming ``field`` when there is none."""
    user: Row | None
    if isinstance(value, int):
        user = await space_repo.get_user(sc, value)
        shown = str(value)
    else:
        text = clean(value)
        kind, sep, rest = text.partition(":")
        if sep and kind.lower() == "id":
            text = rest.strip()
        if text.isdigit() and len(text) <= 16:
            user = await space_repo.get_user(sc, int(text))
        else:
            if sep and kind.lower() == "email":
                text = rest.strip()
            if "@" not in text:
                raise BadRequest(f"{field} must be a user id or email address, got {value[:64]!r}")
            user = await space_repo.find_user(sc, normalize_email(text, field=field, lookup=True))
        shown = text
    if user is None:
        raise BadRequest(f"{field}: no user {shown[:64]!r} in this workspace")
    return user


async def assign(sc: Scope[Transaction], ident: Identifier, *, body: AssigneeBody) -> int:
    """Assign the contact's conversation to a user; null or "null" unassigns."""
    contact_id: int = (await lock(sc, ident))["id"]
    value = body.assignee
    user_id: int | None = None
    if not (value is None or (isinstance(value, str) and clean(value).lower() == "null")):
        user_id = (await resolve_user(sc, value, field="assignee"))["id"]
    await repo.set_assignee(sc, contact_id, user_id=user_id, now=now())
    await contact_events.emit(sc, "contact.assignee.updated", contact_id=contact_id)
    return contact_id


async def mentioned_users(sc: Scope[Connection], text: str) -> list[int]:
    """Ids of the users ``text`` mentions; 400 for a mention of no workspace user."""
    found: list[int] = []
    for user_id in _MENTION_ID.findall(text):
        if len(user_id) > 16 or int(user_id) > _MAX_ID:
            raise BadRequest(f"text: mention: no user {user_id[:24]!r} in this workspace")
        found.append((await resolve_user(sc, int(user_id), field="text: mention"))["id"])
    for email in _MENTION_EMAIL.findall(text):
        found.append((await resolve_user(sc, email, field="text: mention"))["id"])
    return list(dict.fromkeys(found))


async def add_comment(
    sc: Scope[Transaction], ident: Identifier, *, body: CommentBody, user_id: int | None = None
) -> tuple[int, str, int]:
    """Store an internal comment (by ``user_id`` in the app) with its mentions;
    (contactId, text, created_at)."""
    contact_id: int = (await lock(sc, ident))["id"]
    text = body.text
    if not clean(text):
        raise BadRequest("text must not be blank")
    mentions = await mentioned_users(sc, text)
    at = now()
    comment_id = await repo.insert_comment(
        sc, contact_id, text=text, mentions=mentions, now=at, user_id=user_id
    )
    await events.emit_comment(sc, contact_id, comment_id=comment_id)
    return contact_id, text, at


async def record_message(
    sc: Scope[Transaction], contact_id: int, *, message_id: int, incoming: bool, at: int
) -> None:
    """Count a message on the conversation; an incoming one opens a closed conversation."""
    if incoming:
        await ensure_open(sc, contact_id, source="contact", at=at)
    await repo.count_message(sc, contact_id, message_id=message_id, incoming=incoming, now=at)
