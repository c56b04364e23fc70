"""Wire models of the control API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from openrespond.custom_fields.schemas import CustomField
from openrespond.space.schemas import (
    ChannelSource,
    ClosingNote,
    ControlChannel,
    LifecycleStage,
    Template,
    TokenInfo,
    User,
    Workspace,
)
from openrespond.tags.schemas import Tag
from openrespond.validation import NON_BLANK

__all__ = [
    "ChannelCreate",
    "ChannelCreated",
    "ChannelList",
    "ChannelUpdate",
    "ClosingNoteCreate",
    "ClosingNoteList",
    "ControlChannel",
    "CustomFieldList",
    "IssuedToken",
    "LifecycleStage",
    "LifecycleStageCreate",
    "LifecycleStageList",
    "TagList",
    "TemplateCreate",
    "TemplateList",
    "TokenCreate",
    "TokenInfo",
    "TokenList",
    "UserCreate",
    "UserLink",
    "UserLinkCreate",
    "UserList",
    "UserUpdate",
    "Workspace",
    "WorkspaceCreate",
    "WorkspaceList",
]

Name = Annotated[str, Meta(min_length=1, max_length=255, pattern=NON_BLANK)]


class WorkspaceList(msgspec.Struct):
    items: list[Workspace]


class WorkspaceCreate(msgspec.Struct):
    name: Name


class TokenCreate(msgspec.Struct):
    name: Name = "api"


class IssuedToken(msgspec.Struct):
    """The only time the token itself is shown."""

    id: int
    name: str
    workspace_id: int = msgspec.field(name="workspaceId")
    token: str


class TokenList(msgspec.Struct):
    items: list[TokenInfo]


class UserLinkCreate(msgspec.Struct):
    purpose: Literal["invite", "reset", "signin"] = "invite"


class UserLink(msgspec.Struct):
    """A one-time link, shown once: the user opens it in a browser."""

    url: str
    expires_at: int = msgspec.field(name="expiresAt")


class UserCreate(msgspec.Struct):
    email: Annotated[str, Meta(max_length=254)]
    first_name: Name = msgspec.field(name="firstName")
    last_name: Annotated[str, Meta(max_length=255)] | None = msgspec.field(
        name="lastName", default=None
    )
    role: Literal["agent", "manager", "owner"] = "agent"
    team: Annotated[str, Meta(max_length=255)] | None = None
    restrictions: Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(max_length=20)] = []


class UserUpdate(msgspec.Struct):
    """Absent fields stay as they are. ``active: false`` deactivates the user: they cannot
    sign in, and their browser sessions end at once."""

    role: Literal["agent", "manager", "owner"] | None = None
    active: bool | None = None


class UserList(msgspec.Struct):
    items: list[User]


class LifecycleStageCreate(msgspec.Struct):
    name: Name


class LifecycleStageList(msgspec.Struct):
    items: list[LifecycleStage]


class ClosingNoteCreate(msgspec.Struct):
    category: Annotated[str, Meta(min_length=1, max_length=128, pattern=NON_BLANK)]
    description: Annotated[str, Meta(max_length=512)] = ""


class ClosingNoteList(msgspec.Struct):
    items: list[ClosingNote]


class CustomFieldList(msgspec.Struct):
    items: list[CustomField]


class TagList(msgspec.Struct):
    items: list[Tag]


class ChannelCreate(msgspec.Struct):
    """``settings`` depend on the driver: none for ``sandbox``; ``{apiBaseUrl, token?,
    idType?}`` for ``custom_channel``; ``{host, port?, security?, username?, password?, from,
    fromName?, replyTo?, timeoutSeconds?, attachments?, maxAttachmentBytes?}`` for ``smtp``."""

    name: Name
    source: ChannelSource
    driver: Literal["sandbox", "custom_channel", "smtp", "whatsapp_cloud", "telegram", "twilio"] = (
        "sandbox"
    )
    settings: dict[str, Any] = {}
    id: Annotated[int, Meta(ge=1, lt=2**53)] | None = None


class ChannelCreated(ControlChannel, omit_defaults=True):
    """The new channel. A custom channel's ``token`` (generated unless given) is shown only
    here; its bridge posts incoming events to ``webhookUrl`` with that token. A provider's
    channel (WhatsApp Cloud) has the ``webhookUrl`` to register with the provider."""

    token: str | None = None
    webhook_url: str | None = msgspec.field(default=None, name="webhookUrl")


class ChannelUpdate(msgspec.Struct):
    """Absent fields stay as they are."""

    name: Name | None = None
    settings: dict[str, Any] | None = None


class ChannelList(msgspec.Struct):
    items: list[ControlChannel]


class TemplateCreate(msgspec.Struct):
    name: Annotated[str, Meta(min_length=1, max_length=512)]
    language_code: Annotated[str, Meta(min_length=2, max_length=16)] = msgspec.field(
        name="languageCode"
    )
    category: Annotated[str, Meta(min_length=1, max_length=64)] = "UTILITY"
    status: Literal["approved", "pending", "rejected"] = "approved"
    components: Annotated[list[dict[str, Any]], Meta(max_length=20)] = []
    # The provider's id of the template: a Twilio Content SID (HX…) for Twilio channels.
    provider_id: (
        Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] | None
    ) = msgspec.field(default=None, name="providerId")


class TemplateList(msgspec.Struct):
    items: list[Template]


class TemplateSync(msgspec.Struct):
    """What a synchronisation of a channel's templates changed."""

    added: int
    changed: int
    removed: int
