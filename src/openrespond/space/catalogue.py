"""The workspace's lists: lifecycle stages (in order) and closing-note categories."""

from __future__ import annotations

from openrespond.common import now
from openrespond.db import Connection, IntegrityError, Row, Scope, Transaction
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.space import repository as repo
from openrespond.space.schemas import (
    ClosingNote,
    LifecycleStage,
)
from openrespond.space.workspaces import existing
from openrespond.validation import clean

__all__ = [
    "add_closing_note",
    "add_lifecycle_stage",
    "closing_note_from_row",
    "lifecycle_stage_from_row",
    "list_closing_notes",
    "list_lifecycle_stages",
    "remove_closing_note",
    "remove_lifecycle_stage",
]


async def add_lifecycle_stage(sc: Scope[Transaction], name: str) -> int:
    await existing(sc)
    name = clean(name)
    if not 1 <= len(name) <= 255:
        raise BadRequest("name must be 1-255 characters")
    if await repo.get_lifecycle_stage_by_name(sc, name) is not None:
        raise Conflict(f"lifecycle stage {name!r} already exists")
    return await repo.insert_lifecycle_stage(sc, name, now=now())


async def remove_lifecycle_stage(sc: Scope[Transaction], name: str) -> None:
    if not await repo.delete_lifecycle_stage(sc, name):
        raise NotFound(f"lifecycle stage {name!r} not found")


def closing_note_from_row(row: Row) -> ClosingNote:
    return ClosingNote(category=row["category"], description=row["description"])


async def add_closing_note(sc: Scope[Transaction], *, category: str, description: str = "") -> int:
    await existing(sc)
    category = clean(category)
    if not 1 <= len(category) <= 128:
        raise BadRequest("category must be 1-128 characters")
    if len(description) > 512:
        raise BadRequest("description must be at most 512 characters")
    try:
        return await repo.insert_closing_note(sc, category, description=description, now=now())
    except IntegrityError:
        raise Conflict(f"closing-note category {category!r} already exists") from None


async def remove_closing_note(sc: Scope[Transaction], category: str) -> None:
    if not await repo.delete_closing_note(sc, category):
        raise NotFound(f"closing-note category {category!r} not found")


def lifecycle_stage_from_row(row: Row) -> LifecycleStage:
    return LifecycleStage(id=row["id"], name=row["name"], position=row["position"])


async def list_lifecycle_stages(sc: Scope[Connection]) -> list[LifecycleStage]:
    await existing(sc)
    return [lifecycle_stage_from_row(r) for r in await repo.list_lifecycle_stages(sc)]


async def list_closing_notes(sc: Scope[Connection]) -> list[ClosingNote]:
    await existing(sc)
    return [closing_note_from_row(r) for r in await repo.all_closing_notes(sc)]
