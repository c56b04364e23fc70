"""Wire models of tags."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from openrespond.common import Pagination
from openrespond.validation import NON_BLANK

__all__ = [
    "TAG_COLOURS",
    "Tag",
    "TagCreate",
    "TagDelete",
    "TagName",
    "TagNames",
    "TagPage",
    "TagUpdate",
    "TagsBody",
]

TagName = Annotated[str, Meta(min_length=1, max_length=255, pattern=NON_BLANK)]
TagNames = Annotated[list[TagName], Meta(min_length=1, max_length=10)]
Description = Annotated[str, Meta(max_length=255)]
# A hex colour, or one of the colour names respond.io's n8n node sends.
TAG_COLOURS = ("grey", "red", "orange", "yellow", "green", "blue", "indigo", "purple")
ColorCode = Annotated[
    str,
    Meta(
        max_length=16,
        pattern=r"^(#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})|tag-(" + "|".join(TAG_COLOURS) + r"))?$",
    ),
]
Emoji = Annotated[str, Meta(max_length=32)]


class Tag(msgspec.Struct):
    """A workspace tag."""

    id: int
    name: str
    description: str | None
    color_code: str | None = msgspec.field(name="colorCode")
    emoji: str | None
    created_at: int = msgspec.field(name="createdAt")


class TagPage(msgspec.Struct):
    items: list[Tag]
    pagination: Pagination


class TagCreate(msgspec.Struct):
    name: TagName
    description: Description | None = None
    color_code: ColorCode | None = msgspec.field(name="colorCode", default=None)
    emoji: Emoji | None = None


class TagUpdate(msgspec.Struct):
    current_name: TagName = msgspec.field(name="currentName")
    name: TagName | None = None
    description: Description | None = None
    color_code: ColorCode | None = msgspec.field(name="colorCode", default=None)
    emoji: Emoji | None = None


class TagDelete(msgspec.Struct):
    name: TagName


class TagsBody(msgspec.Struct):
    """The older ``{"tags": [...]}`` form of a contact's tag list."""

    tags: TagNames
