"""Wire models of custom-field definitions."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from openrespond.common import Pagination
from openrespond.validation import NON_BLANK

__all__ = [
    "DATA_TYPES",
    "AllowedValues",
    "CustomField",
    "CustomFieldCreate",
    "CustomFieldPage",
    "DataType",
    "ListValues",
]

DataType = Literal["text", "list", "checkbox", "email", "number", "url", "date", "time"]
DATA_TYPES: tuple[str, ...] = ("text", "list", "checkbox", "email", "number", "url", "date", "time")
# Empty is taken as absent (respond.io's n8n node sends "" when no slug is given).
Slug = Annotated[str, Meta(max_length=50, pattern=r"^[A-Za-z0-9_]*$")]
AllowedValue = Annotated[str, Meta(min_length=1, max_length=255)]
ValueList = Annotated[list[AllowedValue], Meta(max_length=1000)]


class AllowedValues(msgspec.Struct):
    """A list field's choices as respond.io answers them (what its n8n node reads)."""

    list_values: list[str] = msgspec.field(name="listValues")


class ListValues(msgspec.Struct):
    """``{"listValues": [...]}``, the answer's shape, accepted on input too."""

    list_values: ValueList = msgspec.field(name="listValues")


class CustomField(msgspec.Struct):
    """A custom-field definition."""

    id: int
    name: str
    slug: str
    description: str | None
    data_type: DataType = msgspec.field(name="dataType")
    allowed_values: AllowedValues | None = msgspec.field(name="allowedValues")
    created_at: int


class CustomFieldPage(msgspec.Struct):
    items: list[CustomField]
    pagination: Pagination


class CustomFieldCreate(msgspec.Struct):
    """Official form ``{name, slug?, description?, dataType, allowedValues?}``; the collection's
    ``{name, type, options}`` is accepted on every route too."""

    name: Annotated[str, Meta(min_length=1, max_length=50, pattern=NON_BLANK)]
    slug: Slug | None = None
    description: Annotated[str, Meta(max_length=255)] | None = None
    data_type: DataType | UnsetType = msgspec.field(name="dataType", default=UNSET)
    allowed_values: ValueList | ListValues | None = msgspec.field(
        name="allowedValues", default=None
    )
    type: DataType | UnsetType = UNSET
    options: ValueList | None = None
