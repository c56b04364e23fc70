"""Wire models of messages, in respond.io's spelling."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from openrespond.common import Pagination
from openrespond.db import Row
from openrespond.validation import EMAIL_PATTERN, NON_BLANK, URL_PATTERN

__all__ = [
    "AttachmentMessage",
    "ContactProfile",
    "CustomPayloadMessage",
    "EmailMessage",
    "FacebookTemplateMessage",
    "Message",
    "MessageCreated",
    "MessagePage",
    "MessageRecord",
    "MessageStatus",
    "QuickReplyMessage",
    "SendBody",
    "Sender",
    "TextMessage",
    "WhatsappTemplateMessage",
    "record_from_row",
]

Url = Annotated[str, Meta(max_length=2048, pattern=URL_PATTERN)]
EmailAddress = Annotated[str, Meta(max_length=254, pattern=EMAIL_PATTERN)]
# The longest text any source takes; each channel's own limit is checked on send.
LongText = Annotated[str, Meta(min_length=1, max_length=100_000, pattern=NON_BLANK)]


ReplyText = Annotated[str, Meta(min_length=1, max_length=256, pattern=NON_BLANK)]


class _Content(msgspec.Struct, tag_field="type", omit_defaults=True):
    """A message object; ``type`` says which."""


class TextMessage(_Content, tag="text"):
    text: LongText
    message_tag: (
        Literal["ACCOUNT_UPDATE", "POST_PURCHASE_UPDATE", "CONFIRMED_EVENT_UPDATE"] | None
    ) = msgspec.field(name="messageTag", default=None)


class Attachment(msgspec.Struct, omit_defaults=True):
    type: Literal["image", "video", "audio", "file"]
    url: Url
    # Empty is taken as absent (respond.io's n8n node sends "" when no name is given).
    file_name: Annotated[str, Meta(max_length=255)] | None = msgspec.field(
        name="fileName", default=None
    )


class AttachmentMessage(_Content, tag="attachment"):
    attachment: Attachment


class CustomPayloadMessage(_Content, tag="custom_payload"):
    payload: dict[str, Any]


class QuickReplyMessage(_Content, tag="quick_reply"):
    title: Annotated[str, Meta(min_length=1, max_length=1024, pattern=NON_BLANK)]
    replies: Annotated[list[ReplyText], Meta(min_length=1, max_length=13)]


class EmailMessage(_Content, tag="email"):
    """An email; the body is ``text`` (official clients) or ``message`` (n8n)."""

    text: LongText | None = None
    message: LongText | None = None
    subject: Annotated[str, Meta(max_length=998)] | None = None
    cc: Annotated[list[EmailAddress], Meta(max_length=50)] | None = None
    bcc: Annotated[list[EmailAddress], Meta(max_length=50)] | None = None
    reply_to_message_id: Annotated[int, Meta(ge=1, le=2**53 - 1)] | None = msgspec.field(
        name="replyToMessageId", default=None
    )
    attachments: Annotated[list[Attachment], Meta(max_length=10)] | None = None


class Template(msgspec.Struct, omit_defaults=True):
    name: Annotated[str, Meta(min_length=1, max_length=512)]
    language_code: Annotated[str, Meta(min_length=2, max_length=16)] = msgspec.field(
        name="languageCode"
    )
    components: Annotated[list[dict[str, Any]], Meta(max_length=20)] | None = None


class WhatsappTemplateMessage(_Content, tag="whatsapp_template"):
    template: Template


class FacebookTemplateMessage(_Content, tag="facebook_template"):
    template: Template


Message = (
    TextMessage
    | AttachmentMessage
    | CustomPayloadMessage
    | QuickReplyMessage
    | EmailMessage
    | WhatsappTemplateMessage
    | FacebookTemplateMessage
)


class ContactProfile(msgspec.Struct):
    """What a channel tells about a contact who writes first (respond.io's contact block)."""

    first_name: Annotated[str, Meta(max_length=255)] | None = msgspec.field(
        name="firstName", default=None
    )
    last_name: Annotated[str, Meta(max_length=255)] | None = msgspec.field(
        name="lastName", default=None
    )
    profile_pic: Annotated[str, Meta(max_length=2048)] | None = msgspec.field(
        name="profilePic", default=None
    )
    country_code: Annotated[str, Meta(max_length=8)] | None = msgspec.field(
        name="countryCode", default=None
    )
    email: Annotated[str, Meta(max_length=254)] | None = None
    phone: Annotated[str, Meta(max_length=32)] | None = None
    language: Annotated[str, Meta(max_length=8)] | None = None


class SendBody(msgspec.Struct):
    """``channelId`` null or absent sends on the contact's last interacted channel."""

    message: Message
    channel_id: Annotated[int, Meta(ge=1, le=2**53 - 1)] | None = msgspec.field(
        name="channelId", default=None
    )


class MessageCreated(msgspec.Struct):
    message_id: int = msgspec.field(name="messageId")


StatusValue = Literal["pending", "sent", "delivered", "read", "failed"]


class MessageStatus(msgspec.Struct, omit_defaults=True):
    """One step of a message's status history: ``timestamp`` in Unix seconds as respond.io
    gives it, ``timestampMs`` the same moment in milliseconds (steps a second apart or less
    stay in order)."""

    value: StatusValue
    timestamp: int
    message: str | None = None
    timestamp_ms: int | None = msgspec.field(name="timestampMs", default=None)

    @classmethod
    def at(cls, value: StatusValue, ms: int, message: str | None = None) -> MessageStatus:
        """The step ``value`` at Unix time ``ms`` (milliseconds)."""
        return cls(value=value, timestamp=ms // 1000, message=message, timestamp_ms=ms)


class Sender(msgspec.Struct, omit_defaults=True):
    source: str
    user_id: int | None = msgspec.field(name="userId", default=None)


class MessageRecord(msgspec.Struct):
    """A message in or out, with its full status history."""

    message_id: int = msgspec.field(name="messageId")
    channel_message_id: str | None = msgspec.field(name="channelMessageId")
    contact_id: int = msgspec.field(name="contactId")
    channel_id: int = msgspec.field(name="channelId")
    traffic: Literal["incoming", "outgoing"]
    message: Message
    status: list[MessageStatus]
    sender: Sender | None
    timestamp: int


class MessagePage(msgspec.Struct):
    items: list[MessageRecord]
    pagination: Pagination


_DECODER = msgspec.json.Decoder(Message)
_STATUSES = msgspec.json.Decoder(list[MessageStatus])


def _with_ms(statuses: list[MessageStatus]) -> list[MessageStatus]:
    """Steps stored before milliseconds were kept get theirs from the seconds."""
    for i, step in enumerate(statuses):
        if step.timestamp_ms is None:
            statuses[i] = msgspec.structs.replace(step, timestamp_ms=step.timestamp * 1000)
    return statuses


def record_from_row(row: Row) -> MessageRecord:
    sender = (
        Sender(source=row["sender_source"], user_id=row["sender_user_id"])
        if row["sender_source"]
        else None
    )
    return MessageRecord(
        message_id=row["id"],
        channel_message_id=row["channel_message_id"],
        contact_id=row["contact_id"],
        channel_id=row["channel_id"],
        traffic=row["traffic"],
        message=_DECODER.decode(row["content"]),
        status=_with_ms(_STATUSES.decode(row["statuses"])),
        sender=sender,
        timestamp=row["created_at"],
    )
