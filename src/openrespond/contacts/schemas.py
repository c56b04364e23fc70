"""Wire models of contacts, in respond.io's spelling."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from openrespond.common import Pagination
from openrespond.validation import NON_BLANK

__all__ = [
    "Assignee",
    "Contact",
    "ContactChannel",
    "ContactChannelPage",
    "ContactCreate",
    "ContactCreated",
    "ContactFields",
    "ContactId",
    "ContactListBody",
    "ContactPage",
    "CustomFieldInput",
    "CustomFieldValue",
    "Filter",
    "FilterCondition",
    "LifecycleBody",
    "MergeBody",
    "Range",
]

ContactKey = Annotated[int, Meta(ge=1, le=2**53 - 1)]
Name = Annotated[str, Meta(max_length=255)]
ScalarValue = str | int | float | bool | None


class CustomFieldValue(msgspec.Struct):
    name: str
    value: ScalarValue


class CustomFieldInput(msgspec.Struct):
    name: Annotated[str, Meta(min_length=1, max_length=50)]
    value: ScalarValue


class Assignee(msgspec.Struct):
    id: int
    first_name: str = msgspec.field(name="firstName")
    last_name: str | None = msgspec.field(name="lastName")
    email: str


class Contact(msgspec.Struct):
    """A contact as every read returns it."""

    id: int
    first_name: str = msgspec.field(name="firstName")
    last_name: str | None = msgspec.field(name="lastName")
    phone: str | None
    email: str | None
    language: str | None
    profile_pic: str | None = msgspec.field(name="profilePic")
    country_code: str | None = msgspec.field(name="countryCode")
    status: Literal["open", "close"]
    custom_fields: list[CustomFieldValue]
    tags: list[str]
    lifecycle: str | None
    assignee: Assignee | None
    created_at: int


class ContactPage(msgspec.Struct):
    items: list[Contact]
    pagination: Pagination


class ContactFields(msgspec.Struct):
    """Fields a client may set; an absent field is left as it is, null clears it."""

    first_name: Annotated[str, Meta(max_length=255, pattern=NON_BLANK)] | UnsetType = msgspec.field(
        name="firstName", default=UNSET
    )
    last_name: Name | UnsetType | None = msgspec.field(name="lastName", default=UNSET)
    phone: Annotated[str, Meta(max_length=32)] | UnsetType | None = UNSET
    email: Annotated[str, Meta(max_length=254)] | UnsetType | None = UNSET
    language: Annotated[str, Meta(max_length=8)] | UnsetType | None = UNSET
    profile_pic: Annotated[str, Meta(max_length=2048)] | UnsetType | None = msgspec.field(
        name="profilePic", default=UNSET
    )
    country_code: Annotated[str, Meta(max_length=8)] | UnsetType | None = msgspec.field(
        name="countryCode", default=UNSET
    )
    custom_fields: Annotated[list[CustomFieldInput], Meta(max_length=200)] | UnsetType | None = (
        UNSET
    )


class ContactCreate(ContactFields, kw_only=True):
    """ContactFields with ``firstName`` required."""

    first_name: Annotated[str, Meta(min_length=1, max_length=255, pattern=NON_BLANK)] = (
        msgspec.field(name="firstName")
    )


class ContactId(msgspec.Struct):
    contact_id: int = msgspec.field(name="contactId")


class ContactCreated(msgspec.Struct):
    """respond.io's create answer: ``code`` is the string ``"200"``."""

    code: str
    message: str
    contact_id: int = msgspec.field(name="contactId")


# The filter is a query language: an unknown key anywhere in it is refused (400 naming it)
# rather than ignored, since ignoring it would widen the match.
class Range(msgspec.Struct, forbid_unknown_fields=True):
    from_: str | int | float | None = msgspec.field(name="from", default=None)
    to: str | int | float | None = None


FilterValue = str | int | float | bool | list[str | int | float] | Range | None
Category = Literal["contactField", "contactTag", "lifecycle"]
Operator = Literal[
    "isEqualTo",
    "isNotEqualTo",
    "exists",
    "doesNotExist",
    "hasAnyOf",
    "hasAllOf",
    "hasNoneOf",
    "isGreaterThan",
    "isLessThan",
    "isBetween",
    "isTimestampAfter",
    "isTimestampBefore",
    "isTimestampBetween",
]


class FilterCondition(msgspec.Struct, forbid_unknown_fields=True):
    category: Category
    operator: Operator
    field: Annotated[str, Meta(min_length=1, max_length=255)] | None = None
    value: FilterValue = None


Conditions = Annotated[list[FilterCondition], Meta(max_length=50)]


class Filter(msgspec.Struct, forbid_unknown_fields=True):
    and_: Conditions | None = msgspec.field(name="$and", default=None)
    or_: Conditions | None = msgspec.field(name="$or", default=None)


class ContactListBody(msgspec.Struct):
    search: Annotated[str, Meta(max_length=255)] | None = None
    timezone: Annotated[str, Meta(max_length=64)] | None = None
    filter: Filter | None = None


class MergeBody(ContactFields):
    """Collection form ``{primaryContactId, secondaryContactId}`` or official
    ``{contactIds: [primary, secondary], ...ContactFields}``."""

    primary_contact_id: ContactKey | UnsetType = msgspec.field(
        name="primaryContactId", default=UNSET
    )
    secondary_contact_id: ContactKey | UnsetType = msgspec.field(
        name="secondaryContactId", default=UNSET
    )
    contact_ids: Annotated[list[ContactKey], Meta(min_length=2, max_length=2)] | UnsetType = (
        msgspec.field(name="contactIds", default=UNSET)
    )


class LifecycleBody(msgspec.Struct):
    name: Annotated[str, Meta(max_length=255)] | None = None


class ContactChannel(msgspec.Struct):
    """A channel the contact is reachable on, with the contact's address there."""

    id: int
    name: str
    source: str
    created_at: int
    contact_channel_id: int = msgspec.field(name="contactChannelId")
    address: str
    last_message_time: int | None = msgspec.field(name="lastMessageTime")
    last_incoming_message_time: int | None = msgspec.field(name="lastIncomingMessageTime")


class ContactChannelPage(msgspec.Struct):
    items: list[ContactChannel]
    pagination: Pagination
