"""Rules for contacts: identifier resolution, field checks, uniqueness, reads and writes."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from openrespond.common import now
from openrespond.contacts import events
from openrespond.contacts import repository as repo
from openrespond.contacts.filters import compile_filter
from openrespond.contacts.schemas import (
    ContactChannel,
    ContactFields,
    ContactListBody,
)
from openrespond.custom_fields.repository import FieldValue
from openrespond.custom_fields.service import encode_value, resolve_fields
from openrespond.db import Connection, Row, Scope, Transaction
from openrespond.db.paging import Cursor, PageRows
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.identifiers import Identifier
from openrespond.space import repository as space_repo
from openrespond.validation import (
    clean,
    normalize_country_code,
    normalize_email,
    normalize_language,
    normalize_phone,
    normalize_url,
)

__all__ = [
    "create_contact",
    "create_if_free",
    "create_or_update",
    "delete_contact",
    "get_contact",
    "list_channels",
    "list_contacts",
    "lock",
    "now",
    "prepare",
    "resolve",
    "set_lifecycle",
    "update_contact",
]


async def resolve(sc: Scope[Connection], ident: Identifier) -> int:
    """The id of the contact ``ident`` names; 404 when there is none in this workspace."""
    contact_id = await repo.find_id(sc, ident)
    if contact_id is None:
        raise NotFound(f"contact {ident} not found")
    return contact_id


async def get_contact(sc: Scope[Connection], ident: Identifier) -> bytes:
    """The contact as Contact JSON text; 404 when ``ident`` names none in ``ws``."""
    found = await repo.contact_json(sc, ident)
    if found is None:
        raise NotFound(f"contact {ident} not found")
    return found


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


async def prepare(
    sc: Scope[Connection],
    fields: ContactFields,
    *,
    region: str | None = None,
) -> tuple[dict[str, Any], list[FieldValue]]:
    """Checked column values for the fields that were sent, and checked custom values."""
    cols: dict[str, Any] = {}
    if fields.first_name is not UNSET:
        if fields.first_name is None or not clean(fields.first_name):
            raise BadRequest("firstName must be a non-empty string")
        cols["first_name"] = clean(fields.first_name)
    if fields.last_name is not UNSET:
        cols["last_name"] = _text(fields.last_name)
    if fields.country_code is not UNSET:
        cc = fields.country_code
        cols["country_code"] = normalize_country_code(cc) if cc is not None else None
    if fields.email is not UNSET:
        cols["email"] = normalize_email(fields.email) if fields.email else None
    if fields.phone is not UNSET:
        phone = _text(fields.phone)
        cols["phone"] = (
            normalize_phone(phone, region=cols.get("country_code") or region) if phone else None
        )
    if fields.language is not UNSET:
        lang = fields.language
        cols["language"] = normalize_language(lang) if lang is not None else None
    if fields.profile_pic is not UNSET:
        pic = fields.profile_pic
        cols["profile_pic"] = normalize_url(pic, field="profilePic") if pic else None
    values: list[FieldValue] = []
    if fields.custom_fields is not UNSET and fields.custom_fields:
        defs = await resolve_fields(sc, [f.name for f in fields.custom_fields])
        by_id: dict[int, FieldValue] = {}
        for i, item in enumerate(fields.custom_fields):
            value = encode_value(defs[item.name], item.value, where=f"custom_fields[{i}]")
            by_id[value.field_id] = value
        values = list(by_id.values())
    return cols, values


async def _check_unique(sc: Scope[Connection], cols: dict[str, Any], exclude: int | None) -> None:
    """409 naming the contact that already holds the email or phone in ``cols``."""
    for column in ("email", "phone"):
        value = cols.get(column)
        if value is None:
            continue
        owner = await repo.owner_of(sc, column, value=value, exclude=exclude)
        if owner is not None:
            raise Conflict(f"{column} {value} already belongs to contact {owner}", contactId=owner)


# How often a write runs again when the contact it collided with vanished meanwhile.
_ROUNDS = 5


async def _try_insert(
    sc: Scope[Transaction], cols: dict[str, Any], values: list[FieldValue]
) -> int | None:
    """A new contact, or None (nothing written) when its email or phone is taken.

    The unique indexes decide, without a lock of ours: when a concurrent request takes the
    email or phone first, this insert waits for it and stores nothing, and a look-up that
    follows sees that request's contact.
    """
    if "first_name" not in cols:
        raise BadRequest("firstName is required")
    contact_id = await repo.insert_new(sc, cols, now=now())
    if contact_id is not None:
        await repo.set_field_values(sc, contact_id, values=values)
        await events.emit(sc, "contact.created", contact_id=contact_id)
    return contact_id


async def _insert(sc: Scope[Transaction], cols: dict[str, Any], values: list[FieldValue]) -> int:
    """A new contact; 409 naming the contact that holds its email or phone."""
    for _ in range(_ROUNDS):
        contact_id = await _try_insert(sc, cols, values)
        if contact_id is not None:
            return contact_id
        await _check_unique(sc, cols, None)
        # The holder was deleted between the insert and the look-up: try again.
    raise Conflict("a contact with this email or phone was being created and deleted; retry")


async def create_if_free(sc: Scope[Transaction], fields: ContactFields) -> int | None:
    """A new contact, or None (nothing written) when its email or phone is taken."""
    cols, values = await prepare(sc, fields)
    return await _try_insert(sc, cols, values)


async def create_contact(
    sc: Scope[Transaction], fields: ContactFields, *, ident: Identifier | None = None
) -> int:
    """A new contact; an email:/phone: identifier sets that field."""
    if ident is not None and ident.kind == "id":
        raise BadRequest("a contact is created with an email: or phone: identifier, not id:")
    cols, values = await prepare(sc, fields)
    if ident is not None:
        # The identifier names the contact: it wins over the body's value of the same field.
        cols[ident.kind] = ident.value
    return await _insert(sc, cols, values)


async def lock(sc: Scope[Transaction], ident: Identifier, *, remove: bool = False) -> Row:
    """The contact ``ident`` names, locked for the rest of the transaction, so that writes to
    one contact (and its merge or deletion) happen one after another; 404 when there is none
    or it was merged away or deleted while this request waited."""
    row = await repo.lock(sc, ident, remove=remove)
    if row is None:
        raise NotFound(f"contact {ident} not found")
    return row


async def _update(sc: Scope[Transaction], current: Row, fields: ContactFields) -> None:
    """Apply ``fields`` to the locked contact ``current``."""
    contact_id: int = current["id"]
    cols, values = await prepare(sc, fields, region=current["country_code"])
    await _check_unique(sc, cols, contact_id)
    # A unique index refusing the update now means a concurrent request took the email or
    # phone after the check: the IntegrityError makes the request run again, and the check
    # then names that contact.
    await repo.update(sc, contact_id, values=cols, now=now())
    await repo.set_field_values(sc, contact_id, values=values)
    await events.emit(sc, "contact.updated", contact_id=contact_id)


async def update_contact(
    sc: Scope[Transaction], ident: Identifier, *, fields: ContactFields
) -> int:
    current = await lock(sc, ident)
    await _update(sc, current, fields)
    return int(current["id"])


async def create_or_update(
    sc: Scope[Transaction], ident: Identifier, *, fields: ContactFields
) -> int:
    """Update the contact ``ident`` names, or create it (email/phone identifiers only;
    creating needs ``firstName``, updating does not).

    Concurrent calls for one new identifier make one contact: a call whose insert loses
    to another's updates the contact the other made.
    """
    for _ in range(_ROUNDS):
        current = await repo.lock(sc, ident)
        if current is not None:
            await _update(sc, current, fields)
            return int(current["id"])
        if ident.kind == "id":
            raise NotFound(f"contact {ident} not found")
        if not (isinstance(fields.first_name, str) and fields.first_name.strip()):
            raise BadRequest(
                f"firstName is required to create a contact, and there is no contact {ident}"
            )
        cols, values = await prepare(sc, fields)
        cols[ident.kind] = ident.value
        contact_id = await _try_insert(sc, cols, values)
        if contact_id is not None:
            return contact_id
        if await repo.find_id(sc, ident) is None:
            # Not the identifier itself: the body's other email or phone is taken.
            await _check_unique(sc, cols, None)
    raise Conflict(f"contact {ident} was being created and deleted concurrently; retry")


async def delete_contact(sc: Scope[Transaction], ident: Identifier) -> int:
    """Delete the contact and everything that belongs to it."""
    current = await lock(sc, ident, remove=True)
    contact_id = int(current["id"])
    doc = await events.contact_doc(sc, contact_id)
    await repo.delete(sc, contact_id)
    await events.emit(sc, "contact.deleted", contact_id=contact_id, contact=doc)
    return contact_id


async def list_contacts(
    sc: Scope[Connection], body: ContactListBody | None, *, cursor: Cursor
) -> tuple[list[bytes], PageRows]:
    """One page of contacts as Contact JSON (UTF-8 bytes)."""
    where, args = await compile_filter(sc, body)
    page = await repo.page(sc, where, args=args, cursor=cursor)
    return [row[1] for row in page.rows], page


async def set_lifecycle(sc: Scope[Transaction], ident: Identifier, *, name: str | None) -> int:
    """Move the contact to the named stage; None (or "") clears it; unknown -> 400."""
    contact_id = int((await lock(sc, ident))["id"])
    stage_id = None
    if name is not None and clean(name):
        stage = await space_repo.get_lifecycle_stage_by_name(sc, clean(name))
        if stage is None:
            raise BadRequest(f"name: unknown lifecycle stage {name[:64]!r}")
        stage_id = stage["id"]
    await repo.update(sc, contact_id, values={"lifecycle_stage_id": stage_id}, now=now())
    await events.emit(sc, "contact.lifecycle.updated", contact_id=contact_id)
    return contact_id


async def list_channels(
    sc: Scope[Connection], ident: Identifier, *, cursor: Cursor
) -> tuple[list[ContactChannel], PageRows]:
    contact_id = await resolve(sc, ident)
    page = await repo.channels_page(sc, contact_id, cursor=cursor)
    items = [
        ContactChannel(
            id=r["channel_id"],
            name=r["name"],
            source=r["source"],
            created_at=r["created_at"],
            contact_channel_id=r["id"],
            address=r["address"],
            last_message_time=r["last_message_time"],
            last_incoming_message_time=r["last_incoming_message_time"],
        )
        for r in page.rows
    ]
    return items, page
