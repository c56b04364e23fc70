"""Wire models of the sandbox actions."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from openrespond.common import Pagination
from openrespond.messages.schemas import ContactProfile, Message

__all__ = ["Incoming", "IncomingResult", "ResetBody", "SentMessage", "SentPage", "StatusBody"]

ChannelKey = Annotated[int, Meta(ge=1, le=2**53 - 1)]


class Incoming(msgspec.Struct):
    """A message a contact sends on a channel: ``address`` is the contact's phone, email or
    platform id there; ``contact`` describes a contact that does not exist yet."""

    channel_id: ChannelKey = msgspec.field(name="channelId")
    address: Annotated[str, Meta(min_length=1, max_length=255)]
    message: Message
    contact: ContactProfile | None = None
    channel_message_id: Annotated[str, Meta(min_length=1, max_length=255)] | None = msgspec.field(
        name="channelMessageId", default=None
    )


class IncomingResult(msgspec.Struct):
    contact_id: int = msgspec.field(name="contactId")
    message_id: int = msgspec.field(name="messageId")


class StatusBody(msgspec.Struct):
    """The status a channel reports for an outgoing message; ``reason`` goes with failed."""

    status: Literal["sent", "delivered", "read", "failed"]
    reason: Annotated[str, Meta(min_length=1, max_length=1000)] | None = None


class SentMessage(msgspec.Struct):
    """What a sandbox channel delivered."""

    id: int
    message_id: int = msgspec.field(name="messageId")
    contact_id: int = msgspec.field(name="contactId")
    address: str
    message: Message
    worker: str
    delivered_at: int = msgspec.field(name="deliveredAt")


class SentPage(msgspec.Struct):
    items: list[SentMessage]
    pagination: Pagination


class ResetBody(msgspec.Struct):
    """``empty``: no contacts, messages, tags or custom fields; ``demo``: empty, then the demo
    data. Users, channels, templates, stages, closing notes and tokens stay."""

    to: Literal["empty", "demo"] = "empty"
