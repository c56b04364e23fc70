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
    "MtmAnswer",
    "MtmChannel",
    "MtmDetail",
    "MtmPage",
    "MtmTemplate",
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


class _Mtm(msgspec.Struct):
    """What respond.io's mtm endpoints tell of a WhatsApp template: times as ISO 8601
    strings, ``status`` lowercase, ``templateId`` the provider's id."""

    id: int
    name: str
    channel_id: str = msgspec.field(name="channelId")
    bot_id: str = msgspec.field(name="botId")
    created_at: str
    updated_at: str
    language_code: str = msgspec.field(name="languageCode")
    namespace: str
    category: str
    status: str
    status_detail: str = msgspec.field(name="statusDetail")
    template_id: str = msgspec.field(name="templateId")
    label: str
    quality_score: str = msgspec.field(name="qualityScore")


class MtmTemplate(_Mtm):
    """A template as ``/space/channel/{id}/mtm`` lists it (the shape respond.io's n8n node
    reads): ``components`` as JSON text."""

    components: str
    bundle: str


class MtmPage(msgspec.Struct):
    items: list[MtmTemplate]
    pagination: Pagination


class MtmChannel(msgspec.Struct):
    id: int
    name: str
    source: str


class MtmDetail(_Mtm):
    """One template with its components as objects, its channel, and (for catalogue
    templates) products: what ``/space/mtm/{id}`` answers inside ``data``."""

    components: list[dict[str, Any]]
    bundle: dict[str, Any]
    channel: MtmChannel
    catalog_products: list[dict[str, Any]] = msgspec.field(name="catalogProducts")


class MtmAnswer(msgspec.Struct):
    """respond.io's wrapper around one template."""

    status: str
    message: str
    data: MtmDetail


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
