"""Wire models of the workspace's catalogue, in respond.io's spelling."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

import msgspec
from msgspec import Meta

from openrespond.common import Pagination

__all__ = [
    "CHANNEL_SOURCES",
    "Channel",
    "ChannelPage",
    "ChannelSource",
    "ClosingNote",
    "ClosingNotePage",
    "ControlChannel",
    "LifecycleStage",
    "Team",
    "Template",
    "TemplatePage",
    "TokenInfo",
    "User",
    "UserPage",
    "Workspace",
]

ChannelSource = Literal[
    "facebook",
    "instagram",
    "line",
    "telegram",
    "viber",
    "twitter",
    "wechat",
    "custom_channel",
    "gmail",
    "other_email",
    "twilio",
    "message_bird",
    "nexmo",
    "360dialog_whatsapp",
    "twilio_whatsapp",
    "message_bird_whatsapp",
    "whatsapp",
    "nexmo_whatsapp",
    "whatsapp_cloud",
]
CHANNEL_SOURCES: tuple[str, ...] = get_args(ChannelSource)
Role = Literal["agent", "manager", "owner"]
Name = Annotated[str, Meta(min_length=1, max_length=255)]


class Team(msgspec.Struct):
    id: int
    name: str


class User(msgspec.Struct):
    """A workspace member."""

    id: int
    first_name: str = msgspec.field(name="firstName")
    last_name: str | None = msgspec.field(name="lastName")
    email: str
    role: Role
    team: Team | None
    restrictions: list[str]


class UserPage(msgspec.Struct):
    items: list[User]
    pagination: Pagination


class Channel(msgspec.Struct):
    """A workspace channel as API clients see it."""

    id: int
    name: str
    source: str
    created_at: int


class ChannelPage(msgspec.Struct):
    items: list[Channel]
    pagination: Pagination


class ClosingNote(msgspec.Struct):
    category: str
    description: str


class ClosingNotePage(msgspec.Struct):
    items: list[ClosingNote]
    pagination: Pagination


class Template(msgspec.Struct):
    """A message template of a channel (WhatsApp-style)."""

    id: int
    name: str
    channel_id: int = msgspec.field(name="channelId")
    language_code: str = msgspec.field(name="languageCode")
    category: str
    status: str
    components: list[dict[str, Any]]
    created_at: int


class TemplatePage(msgspec.Struct):
    items: list[Template]
    pagination: Pagination


class Workspace(msgspec.Struct):
    id: int
    name: str
    org_id: int = msgspec.field(name="orgId")
    demo: bool
    created_at: int


class TokenInfo(msgspec.Struct):
    id: int
    name: str
    kind: str
    created_at: int
    revoked_at: int | None
    # When a /v2 request last used it (to within a fraction of a second); None: never.
    last_used_at: int | None = None


class LifecycleStage(msgspec.Struct):
    id: int
    name: str
    position: int


class ControlChannel(Channel):
    """A channel with the driver that delivers its messages (settings are never shown)."""

    driver: str
