"""Typed shapes of what the API answers (msgspec Structs, camelCase on the wire). Unknown
fields are ignored, so a server that adds some does not break the client."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

__all__ = [
    "AllowedValues",
    "Assignee",
    "Channel",
    "ClosingNote",
    "Comment",
    "Contact",
    "ContactChannel",
    "ContactCreated",
    "ContactId",
    "CustomField",
    "CustomFieldValue",
    "MessageId",
    "MessageRecord",
    "MessageStatus",
    "Page",
    "Pagination",
    "Sender",
    "Status",
    "Tag",
    "Team",
    "Template",
    "User",
]

T = TypeVar("T")


class _Wire(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=True):
    pass


class CustomFieldValue(_Wire):
    name: str
    value: Any = None


class Assignee(_Wire):
    id: int
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


class Contact(_Wire):
    id: int
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    email: str | None = None
    language: str | None = None
    profile_pic: str | None = None
    country_code: str | None = None
    status: str | None = None
    custom_fields: list[CustomFieldValue] = msgspec.field(
        default_factory=list, name="custom_fields"
    )
    tags: list[str] = msgspec.field(default_factory=list)
    lifecycle: str | None = None
    assignee: Assignee | None = None
    created_at: int | None = msgspec.field(default=None, name="created_at")


class ContactId(_Wire):
    contact_id: int


class ContactCreated(_Wire):
    contact_id: int
    code: Any = None
    message: str | None = None


class Status(_Wire):
    code: Any = None
    message: str | None = None


class ContactChannel(_Wire):
    id: int
    name: str | None = None
    source: str | None = None
    created_at: int | None = msgspec.field(default=None, name="created_at")
    contact_channel_id: int | None = None
    address: str | None = None
    last_message_time: int | None = None
    last_incoming_message_time: int | None = None


class MessageStatus(_Wire):
    value: str
    timestamp: int | None = None
    message: str | None = None
    timestamp_ms: int | None = msgspec.field(name="timestampMs", default=None)


class Sender(_Wire):
    source: str | None = None
    user_id: int | None = None


class MessageRecord(_Wire):
    message_id: int
    channel_message_id: str | None = None
    contact_id: int | None = None
    channel_id: int | None = None
    traffic: str | None = None
    message: dict[str, Any] = msgspec.field(default_factory=dict)
    status: list[MessageStatus] = msgspec.field(default_factory=list)
    sender: Sender | None = None
    timestamp: int | None = None


class MessageId(_Wire):
    message_id: int


class Comment(_Wire):
    contact_id: int
    text: str | None = None
    created_at: int | None = msgspec.field(default=None, name="created_at")


class Tag(_Wire):
    id: int
    name: str
    description: str | None = None
    color_code: str | None = None
    emoji: str | None = None
    created_at: int | None = None


class AllowedValues(_Wire):
    """A list field's choices, as respond.io answers them: ``{"listValues": [...]}``."""

    list_values: list[str] = []


class CustomField(_Wire):
    id: int
    name: str
    slug: str | None = None
    description: str | None = None
    data_type: str | None = None
    allowed_values: AllowedValues | None = None
    created_at: int | None = msgspec.field(default=None, name="created_at")

    @property
    def choices(self) -> list[str]:
        """A list field's allowed values (empty for other types)."""
        return list(self.allowed_values.list_values) if self.allowed_values else []


class Team(_Wire):
    id: int
    name: str


class User(_Wire):
    id: int
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    role: str | None = None
    team: Team | None = None
    restrictions: list[Any] = msgspec.field(default_factory=list)


class Channel(_Wire):
    id: int
    name: str | None = None
    source: str | None = None
    created_at: int | None = msgspec.field(default=None, name="created_at")


class ClosingNote(_Wire):
    category: str
    description: str | None = None


class Template(_Wire):
    id: int | None = None
    name: str | None = None
    language_code: str | None = None
    category: str | None = None
    status: str | None = None
    components: list[Any] = msgspec.field(default_factory=list)


class Pagination(_Wire):
    next: str | None = None
    previous: str | None = None


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """One page of a list: its items and the absolute URLs of the pages beside it."""

    items: list[T]
    pagination: Pagination = msgspec.field(default_factory=Pagination)
