"""Merging two contacts into one (the primary survives), in the caller's transaction."""

from __future__ import annotations

import msgspec
from msgspec import UNSET

from openrespond import common
from openrespond.contacts import events
from openrespond.contacts import repository as repo
from openrespond.contacts.schemas import Contact, MergeBody
from openrespond.contacts.service import prepare
from openrespond.conversations import repository as conversations_repo
from openrespond.db import Row, Scope, Transaction
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.messages import repository as messages_repo

__all__ = ["SCALARS", "merge_contacts", "merge_ids", "preview"]

# The primary's value wins unless it is empty; then the secondary's fills it. The
# conversation status follows its own rule below.
SCALARS = tuple(c for c in repo.COLUMNS if c != "status")


def merge_ids(body: MergeBody) -> tuple[int, int]:
    """(primary, secondary) from either body form; 400 when missing, mixed or equal."""
    given_pair = body.primary_contact_id is not UNSET or body.secondary_contact_id is not UNSET
    if body.contact_ids is not UNSET:
        if given_pair:
            raise BadRequest("send contactIds or primaryContactId/secondaryContactId, not both")
        pair = (body.contact_ids[0], body.contact_ids[1])
    elif body.primary_contact_id is not UNSET and body.secondary_contact_id is not UNSET:
        pair = (body.primary_contact_id, body.secondary_contact_id)
    elif given_pair:
        raise BadRequest("primaryContactId and secondaryContactId are both required")
    else:
        raise BadRequest(
            "send contactIds: [primary, secondary] or primaryContactId and secondaryContactId"
        )
    if pair[0] == pair[1]:
        raise BadRequest("cannot merge a contact with itself: the two ids are the same")
    return pair


def _empty(value: object) -> bool:
    return value is None or value == ""


async def _lock_pair(sc: Scope[Transaction], primary_id: int, secondary_id: int) -> tuple[Row, Row]:
    """Both contacts, locked in id order (two merges of overlapping pairs queue instead of
    deadlocking), each read after its lock: what the merge copies is what the contact holds
    now, including what a merge that finished meanwhile moved onto it. 404 for a contact
    that does not exist, or was merged away or deleted while this one waited."""
    rows: dict[int, Row] = {}
    for contact_id in sorted((primary_id, secondary_id)):
        row = await repo.lock_id(sc, contact_id, remove=contact_id == secondary_id)
        if row is None:
            role = "primary" if contact_id == primary_id else "secondary"
            raise NotFound(f"{role} contact {contact_id} not found")
        rows[contact_id] = row
    return rows[primary_id], rows[secondary_id]


def preview(primary: Contact, secondary: Contact) -> Contact:
    """The contact ``merge_contacts`` makes of these two (with no overriding fields), by the
    same rules: each field the primary's unless empty, custom-field values the primary lacks
    from the secondary, the tags of both, open when either is."""
    fields = {f: getattr(primary, f) for f in _PREVIEWED}
    for name in _PREVIEWED:
        if _empty(fields[name]):
            fields[name] = getattr(secondary, name)
    have = {v.name for v in primary.custom_fields}
    values = [*primary.custom_fields, *(v for v in secondary.custom_fields if v.name not in have)]
    return msgspec.structs.replace(
        primary,
        **fields,
        custom_fields=sorted(values, key=lambda v: v.name),
        tags=sorted(set(primary.tags) | set(secondary.tags)),
        status="open" if "open" in (primary.status, secondary.status) else primary.status,
    )


# The Contact fields SCALARS hold (the columns hold lifecycle and assignee by their ids).
_PREVIEWED = tuple(
    {"lifecycle_stage_id": "lifecycle", "assignee_user_id": "assignee"}.get(c, c) for c in SCALARS
)


async def merge_contacts(sc: Scope[Transaction], body: MergeBody) -> int:
    """Fold the secondary into the primary and delete it; fields in ``body`` override both."""
    primary_id, secondary_id = merge_ids(body)
    primary, secondary = await _lock_pair(sc, primary_id, secondary_id)
    overrides, override_values = await prepare(
        sc, body, region=primary["country_code"] or secondary["country_code"]
    )
    merged = {col: primary[col] if not _empty(primary[col]) else secondary[col] for col in SCALARS}
    merged.update(overrides)
    if merged["first_name"] is None:
        merged["first_name"] = primary["first_name"]
    if primary["status"] != "open" and secondary["status"] == "open":
        merged["status"] = "open"
    await repo.merge_field_values(sc, primary=primary_id, secondary=secondary_id)
    await repo.merge_tags(sc, primary=primary_id, secondary=secondary_id)
    await repo.merge_channels(sc, primary=primary_id, secondary=secondary_id)
    await messages_repo.move_to(sc, primary=primary_id, secondary=secondary_id)
    await conversations_repo.move_to(
        sc, primary=primary_id, secondary=secondary_id, now=common.now()
    )
    secondary_doc = await events.contact_doc(sc, secondary_id)
    await repo.delete(sc, secondary_id)
    for column in ("email", "phone"):
        value = merged[column]
        if value is not None:
            owner = await repo.owner_of(sc, column, value=value, exclude=primary_id)
            if owner is not None:
                raise Conflict(
                    f"{column} {value} already belongs to contact {owner}", contactId=owner
                )
    await repo.update(sc, primary_id, values=merged, now=common.now())
    await repo.set_field_values(sc, primary_id, values=override_values)
    await events.emit(sc, "contact.deleted", contact_id=secondary_id, contact=secondary_doc)
    await events.emit(sc, "contact.updated", contact_id=primary_id)
    return primary_id
