"""The workspace's lists: lifecycle stages (in order) and closing-note categories."""

from __future__ import annotations

from openrespond.common import now
from openrespond.db import Connection, IntegrityError, Row, Transaction
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


async def add_lifecycle_stage(tx: Transaction, ws: int, name: str) -> int:
    await existing(tx, ws)
    name = clean(name)
    if not 1 <= len(name) <= 255:
        raise BadRequest("name must be 1-255 characters")
    if await repo.get_lifecycle_stage_by_name(tx, ws, name) is not None:
        raise Conflict(f"lifecycle stage {name!r} already exists")
    return await repo.insert_lifecycle_stage(tx, ws, name, now())


async def remove_lifecycle_stage(tx: Transaction, ws: int, name: str) -> None:
    if not await repo.delete_lifecycle_stage(tx, ws, name):
        raise NotFound(f"lifecycle stage {name!r} not found")


def closing_note_from_row(row: Row) -> ClosingNote:
    return ClosingNote(category=row["category"], description=row["description"])


async def add_closing_note(
    tx: Transaction, ws: int, *, category: str, description: str = ""
) -> int:
    await existing(tx, ws)
    category = clean(category)
    if not 1 <= len(category) <= 128:
        raise BadRequest("category must be 1-128 characters")
    if len(description) > 512:
        raise BadRequest("description must be at most 512 characters")
    try:
        return await repo.insert_closing_note(tx, ws, category, description, now())
    except IntegrityError:
        raise Conflict(f"closing-note category {category!r} already exists") from None


async def remove_closing_note(tx: Transaction, ws: int, category: str) -> None:
    if not await repo.delete_closing_note(tx, ws, category):
        raise NotFound(f"closing-note category {category!r} not found")


def lifecycle_stage_from_row(row: Row) -> LifecycleStage:
    return LifecycleStage(id=row["id"], name=row["name"], position=row["position"])


async def list_lifecycle_stages(conn: Connection, ws: int) -> list[LifecycleStage]:
    await existing(conn, ws)
    return [lifecycle_stage_from_row(r) for r in await repo.list_lifecycle_stages(conn, ws)]


async def list_closing_notes(conn: Connection, ws: int) -> list[ClosingNote]:
    await existing(conn, ws)
    return [closing_note_from_row(r) for r in await repo.all_closing_notes(conn, ws)]
