"""Every operation of the API as a ``Call``: the one place that knows routes and bodies.
Both clients turn these into requests; neither repeats a route."""

from __future__ import annotations

from typing import Any

from openrespond.client._base import Call
from openrespond.client.errors import InvalidRequestError
from openrespond.client.identifiers import identifier
from openrespond.client.models import (
    Channel,
    ClosingNote,
    Comment,
    Contact,
    ContactChannel,
    ContactCreated,
    ContactId,
    CustomField,
    MessageId,
    MessageRecord,
    Page,
    Status,
    Tag,
    Template,
    User,
)

_MESSAGE_TYPES = frozenset(
    {
        "text",
        "attachment",
        "custom_payload",
        "quick_reply",
        "email",
        "whatsapp_template",
        "facebook_template",
    }
)
_FIELDS = {
    "first_name": "firstName",
    "last_name": "lastName",
    "phone": "phone",
    "email": "email",
    "language": "language",
    "profile_pic": "profilePic",
    "country_code": "countryCode",
}


def contact_fields(fields: dict[str, Any], custom_fields: dict[str, Any] | None) -> dict[str, Any]:
    """A ContactFields body from snake_case keyword arguments (or the wire's camelCase)."""
    body: dict[str, Any] = {}
    for key, value in fields.items():
        wire = _FIELDS.get(key, key if key in _FIELDS.values() else None)
        if wire is None:
            raise InvalidRequestError(f"unknown contact field {key!r}")
        body[wire] = value
    if custom_fields is not None:
        body["custom_fields"] = [{"name": k, "value": v} for k, v in custom_fields.items()]
    return body


def _limit(limit: int | None) -> int | None:
    if limit is not None and not 1 <= limit <= 100:
        raise InvalidRequestError(f"limit is 1-100, got {limit}")
    return limit


def _tags(tags: list[str]) -> list[str]:
    if isinstance(tags, str) or not tags or len(tags) > 10:
        raise InvalidRequestError("tags is a list of 1-10 names")
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 255:
            raise InvalidRequestError(f"a tag name is 1-255 characters, got {tag!r}")
    return list(tags)


def message_body(message: dict[str, Any] | str) -> dict[str, Any]:
    """A message object; a plain string is a text message."""
    if isinstance(message, str):
        message = {"type": "text", "text": message}
    if not isinstance(message, dict) or message.get("type") not in _MESSAGE_TYPES:
        raise InvalidRequestError(
            f"a message is a dict whose type is one of {sorted(_MESSAGE_TYPES)}"
        )
    if message["type"] == "text" and not (
        isinstance(message.get("text"), str) and message["text"].strip()
    ):
        raise InvalidRequestError("a text message needs non-empty text")
    return message


# -- contacts -------------------------------------------------------------------------------


def create_contact(ident: str | None, body: dict[str, Any]) -> Call[ContactCreated]:
    if not isinstance(body.get("firstName"), str) or not body["firstName"].strip():
        raise InvalidRequestError("firstName is required to create a contact")
    if ident is None:
        return Call("POST", "/contact", ContactCreated, json=body)
    ident = identifier(ident)
    if ident.startswith("id:"):
        raise InvalidRequestError("create a contact by email: or phone:, not id:")
    return Call("POST", f"/contact/{ident}", ContactCreated, json=body)


def create_or_update_contact(ident: str, body: dict[str, Any]) -> Call[ContactId]:
    return Call("POST", f"/contact/create_or_update/{identifier(ident)}", ContactId, json=body)


def get_contact(ident: str | int) -> Call[Contact]:
    return Call("GET", f"/contact/{identifier(ident)}", Contact)


def update_contact(ident: str | int, body: dict[str, Any]) -> Call[ContactId]:
    return Call("PUT", f"/contact/{identifier(ident)}", ContactId, json=body)


def delete_contact(ident: str | int) -> Call[ContactId]:
    return Call("DELETE", f"/contact/{identifier(ident)}", ContactId)


def list_contacts(
    *,
    search: str | None = None,
    filter: dict[str, Any] | None = None,
    timezone: str | None = None,
    limit: int | None = None,
    cursor_id: int | None = None,
) -> Call[Page[Contact]]:
    body: dict[str, Any] = {}
    if search is not None:
        body["search"] = search
    if filter is not None:
        body["filter"] = filter
    if timezone is not None:
        body["timezone"] = timezone
    params = {"limit": _limit(limit), "cursorId": cursor_id}
    return Call("POST", "/contact/list", Page[Contact], params=params, json=body)


def merge_contacts(primary: int, secondary: int, body: dict[str, Any]) -> Call[ContactId]:
    for value in (primary, secondary):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidRequestError(f"contact ids are positive integers, got {value!r}")
    if primary == secondary:
        raise InvalidRequestError("a contact cannot be merged with itself")
    return Call(
        "POST", "/contact/merge", ContactId, json={"contactIds": [primary, secondary], **body}
    )


def contact_channels(ident: str | int, *, limit: int | None = None) -> Call[Page[ContactChannel]]:
    return Call(
        "GET",
        f"/contact/{identifier(ident)}/channels",
        Page[ContactChannel],
        params={"limit": _limit(limit)},
    )


def set_lifecycle(ident: str | int, name: str | None) -> Call[Status]:
    return Call(
        "POST", f"/contact/{identifier(ident)}/lifecycle/update", Status, json={"name": name}
    )


def add_tags(ident: str | int, tags: list[str]) -> Call[ContactId]:
    return Call("POST", f"/contact/{identifier(ident)}/tag", ContactId, json=_tags(tags))


def remove_tags(ident: str | int, tags: list[str]) -> Call[ContactId]:
    return Call("DELETE", f"/contact/{identifier(ident)}/tag", ContactId, json=_tags(tags))


# -- messages -------------------------------------------------------------------------------


def send_message(
    ident: str | int, message: dict[str, Any] | str, channel_id: int | None
) -> Call[MessageId]:
    body: dict[str, Any] = {"message": message_body(message)}
    if channel_id is not None:
        body["channelId"] = channel_id
    return Call("POST", f"/contact/{identifier(ident)}/message", MessageId, json=body)


def get_message(ident: str | int, message_id: int) -> Call[MessageRecord]:
    return Call("GET", f"/contact/{identifier(ident)}/message/{int(message_id)}", MessageRecord)


def list_messages(
    ident: str | int, *, limit: int | None = None, cursor_id: int | None = None
) -> Call[Page[MessageRecord]]:
    return Call(
        "GET",
        f"/contact/{identifier(ident)}/message/list",
        Page[MessageRecord],
        params={"limit": _limit(limit), "cursorId": cursor_id},
    )


# -- conversations --------------------------------------------------------------------------


def set_conversation_status(
    ident: str | int, status: str, category: str | None, summary: str | None
) -> Call[ContactId]:
    if status not in ("open", "close"):
        raise InvalidRequestError(f"status is 'open' or 'close', got {status!r}")
    body: dict[str, Any] = {"status": status}
    if category is not None:
        body["category"] = category
    if summary is not None:
        body["summary"] = summary
    return Call("POST", f"/contact/{identifier(ident)}/conversation/status", ContactId, json=body)


def assign(ident: str | int, assignee: int | str | None) -> Call[ContactId]:
    return Call(
        "POST",
        f"/contact/{identifier(ident)}/conversation/assignee",
        ContactId,
        json={"assignee": assignee},
    )


def comment(ident: str | int, text: str) -> Call[Comment]:
    if not isinstance(text, str) or not text.strip() or len(text) > 1000:
        raise InvalidRequestError("a comment is 1-1000 characters")
    return Call("POST", f"/contact/{identifier(ident)}/comment", Comment, json={"text": text})


# -- the workspace --------------------------------------------------------------------------


def create_tag(name: str, **attrs: Any) -> Call[Tag]:
    return Call("POST", "/space/tag", Tag, json={"name": name, **_camel(attrs)})


def update_tag(current_name: str, **attrs: Any) -> Call[Tag]:
    return Call("PUT", "/space/tag", Tag, json={"currentName": current_name, **_camel(attrs)})


def delete_tag(name: str) -> Call[Status]:
    return Call("DELETE", "/space/tag", Status, json={"name": name})


def list_tags(*, limit: int | None = None) -> Call[Page[Tag]]:
    return Call("GET", "/space/tag", Page[Tag], params={"limit": _limit(limit)})


def list_custom_fields(*, limit: int | None = None) -> Call[Page[CustomField]]:
    return Call("GET", "/space/custom_field", Page[CustomField], params={"limit": _limit(limit)})


def get_custom_field(field_id: int) -> Call[CustomField]:
    return Call("GET", f"/space/custom_field/{int(field_id)}", CustomField)


def create_custom_field(name: str, data_type: str, **attrs: Any) -> Call[CustomField]:
    return Call(
        "POST",
        "/space/custom_field",
        CustomField,
        json={"name": name, "dataType": data_type, **_camel(attrs)},
    )


def list_users(*, limit: int | None = None) -> Call[Page[User]]:
    return Call("GET", "/space/user", Page[User], params={"limit": _limit(limit)})


def get_user(user_id: int) -> Call[User]:
    return Call("GET", f"/space/user/{int(user_id)}", User)


def list_channels(*, limit: int | None = None) -> Call[Page[Channel]]:
    return Call("GET", "/space/channel", Page[Channel], params={"limit": _limit(limit)})


def list_closing_notes(*, limit: int | None = None) -> Call[Page[ClosingNote]]:
    return Call("GET", "/space/closing_notes", Page[ClosingNote], params={"limit": _limit(limit)})


def list_templates(channel_id: int, *, limit: int | None = None) -> Call[Page[Template]]:
    return Call(
        "GET",
        f"/space/channel/{int(channel_id)}/template",
        Page[Template],
        params={"limit": _limit(limit)},
    )


def next_page(call: Call[Page[Any]], url: str) -> Call[Page[Any]]:
    """The same call for the page at ``url`` (a ``pagination.next`` link)."""
    return Call(call.method, call.path, call.answer, json=call.json, url=url)


def _camel(attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in attrs.items():
        head, *rest = key.split("_")
        out[head + "".join(p.title() for p in rest)] = value
    return out
