"""Rules for workspace tags: idempotent create, rename, delete."""

from __future__ import annotations

from openrespond import common
from openrespond.contacts import events
from openrespond.contacts import service as contacts
from openrespond.db import Connection, Row, Scope, Transaction
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.identifiers import Identifier
from openrespond.space.workspaces import existing
from openrespond.tags import repository as repo
from openrespond.tags.schemas import TAG_COLOURS, Tag, TagCreate, TagUpdate
from openrespond.validation import clean

__all__ = [
    "add_to_contact",
    "clean_names",
    "create_tag",
    "delete_tag",
    "list_tags",
    "remove_from_contact",
    "tag_from_row",
    "update_tag",
]


MAX_TAGS = 10


def tag_from_row(row: Row) -> Tag:
    return Tag(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        color_code=row["color_code"],
        emoji=row["emoji"],
        created_at=row["created_at"],
    )


def clean_names(names: list[str], *, field: str = "tags") -> list[str]:
    """Trimmed, de-duplicated names in their first order; 400 for a blank one."""
    if not 1 <= len(names) <= MAX_TAGS:
        raise BadRequest(f"{field} must hold 1-{MAX_TAGS} tag names, got {len(names)}")
    out: list[str] = []
    for i, raw in enumerate(names):
        if len(raw) > 255:
            raise BadRequest(f"{field}[{i}] must be at most 255 characters")
        name = clean(raw)
        if not name:
            raise BadRequest(f"{field}[{i}] must not be blank")
        if name not in out:
            out.append(name)
    return out


def _check_color(color: str | None) -> None:
    """A hex colour (#1a2b3c or #abc), or a colour name as respond.io's n8n node sends it
    (tag-blue); kept as given."""
    if not color:
        return
    if color.startswith("tag-") and color[4:] in TAG_COLOURS:
        return
    if not (
        color.startswith("#")
        and len(color) in (4, 7)
        and all(c in "0123456789abcdefABCDEF" for c in color[1:])
    ):
        names = ", ".join(f"tag-{c}" for c in TAG_COLOURS)
        raise BadRequest(
            f"colorCode must be a hex colour like #1a2b3c or one of {names}, got {color[:40]!r}"
        )


async def create_tag(sc: Scope[Transaction], body: TagCreate) -> Tag:
    """Create; the same tag again answers the existing one; other attributes -> 409."""
    name = clean_names([body.name], field="name")[0]
    _check_color(body.color_code)
    # An insert that loses to a concurrent create of the same name writes nothing, and the
    # next look sees the winner (a third look only if that one was deleted).
    for _ in range(3):
        existing = await repo.by_name(sc, name)
        if existing is not None:
            for attr, column in (
                ("description", "description"),
                ("color_code", "color_code"),
                ("emoji", "emoji"),
            ):
                # Empty and absent are alike (the n8n node sends "" for what is not set).
                given = getattr(body, attr) or None
                if given is not None and given != (existing[column] or None):
                    raise Conflict(
                        f"tag {name!r} already exists with a different {attr.replace('color_code', 'colorCode')}"
                    )
            return tag_from_row(existing)
        tag_id = await repo.insert(
            sc,
            name=name,
            description=body.description,
            color_code=body.color_code,
            emoji=body.emoji,
            now=common.now(),
        )
        if tag_id is not None:
            row = await repo.by_name(sc, name)
            assert row is not None
            assert row["id"] == tag_id
            return tag_from_row(row)
    raise Conflict(f"tag {name!r} was being created and deleted concurrently; retry")


async def update_tag(sc: Scope[Transaction], body: TagUpdate) -> Tag:
    """Rename or re-describe the tag called ``currentName``; attributes not given keep the
    values they have when this request holds the tag (a concurrent change is not undone)."""
    current = await repo.by_name(sc, clean(body.current_name), for_update=True)
    if current is None:
        raise NotFound(f"tag {body.current_name!r} not found")
    _check_color(body.color_code)
    name = clean_names([body.name], field="name")[0] if body.name is not None else current["name"]
    if name != current["name"] and await repo.by_name(sc, name) is not None:
        raise Conflict(f"tag {name!r} already exists")
    values = {
        "name": name,
        "description": body.description if body.description is not None else current["description"],
        "color_code": body.color_code if body.color_code is not None else current["color_code"],
        "emoji": body.emoji if body.emoji is not None else current["emoji"],
    }
    await repo.update(sc, current["id"], **values)
    row = await repo.by_name(sc, name)
    assert row is not None
    return tag_from_row(row)


async def delete_tag(sc: Scope[Transaction], name: str) -> None:
    """Delete the tag and take it off every contact."""
    row = await repo.by_name(sc, clean(name))
    if row is None:
        raise NotFound(f"tag {name!r} not found")
    await repo.delete(sc, row["id"])


async def add_to_contact(sc: Scope[Transaction], ident: Identifier, *, names: list[str]) -> int:
    """Tag the contact ``ident`` names; unknown names become workspace tags. Its id."""
    names = clean_names(names)
    contact_id: int = (await contacts.lock(sc, ident))["id"]
    now = common.now()
    await repo.attach(sc, contact_id, tag_ids=await repo.ensure(sc, names, now=now), now=now)
    await events.emit(sc, "contact.tag.updated", contact_id=contact_id)
    return contact_id


async def remove_from_contact(
    sc: Scope[Transaction], ident: Identifier, *, names: list[str]
) -> int:
    """Untag the contact ``ident`` names; names it does not carry are ignored. Its id."""
    names = clean_names(names)
    contact_id: int = (await contacts.lock(sc, ident))["id"]
    await repo.detach(sc, contact_id, names=names)
    await events.emit(sc, "contact.tag.updated", contact_id=contact_id)
    return contact_id


async def list_tags(sc: Scope[Connection]) -> list[Tag]:
    """Every tag of the workspace, by id."""
    await existing(sc)
    return [tag_from_row(r) for r in await repo.all_tags(sc)]
