"""Wire models of conversations and comments, in respond.io's spelling."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from openrespond.validation import NON_BLANK

__all__ = ["AssigneeBody", "CommentBody", "CommentCreated", "ConversationStatusBody"]


class ConversationStatusBody(msgspec.Struct):
    """Open or close; closing may name a closing-note ``category`` and a ``summary``."""

    status: Literal["open", "close"]
    category: Annotated[str, Meta(max_length=128)] | None = None
    summary: Annotated[str, Meta(max_length=512)] | None = None


class AssigneeBody(msgspec.Struct):
    """A user id (number or numeric string), an email (plain, ``email:`` or ``id:`` forms),
    or null / ``"null"`` to unassign."""

    assignee: Annotated[int, Meta(ge=1, le=2**53 - 1)] | Annotated[str, Meta(max_length=260)] | None


class CommentBody(msgspec.Struct):
    """Mentions: ``{{@user.<id>}}`` or ``@[<email>]``."""

    text: Annotated[str, Meta(min_length=1, max_length=1000, pattern=NON_BLANK)]


class CommentCreated(msgspec.Struct):
    contact_id: int = msgspec.field(name="contactId")
    text: str
    created_at: int
