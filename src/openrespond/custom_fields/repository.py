"""SQL for custom-field definitions."""

from __future__ import annotations

from dataclasses import dataclass

from openrespond.db import Connection, Row, Scope
from openrespond.db.paging import Cursor, PageRows, fetch_page

__all__ = [
    "FieldValue",
    "all_fields",
    "by_name",
    "by_names",
    "by_slug",
    "delete",
    "get",
    "insert",
    "page",
]


@dataclass(frozen=True, slots=True)
class FieldValue:
    """A checked value for one field: its stored text and, for numbers, its number."""

    field_id: int
    text: str | None
    number: float | None


_SELECT = (
    "SELECT id, name, slug, description, data_type, allowed_values, created_at FROM custom_fields"
)


async def get(sc: Scope[Connection], field_id: int) -> Row | None:
    return await sc.conn.fetch_one(f"{_SELECT} WHERE workspace_id = ? AND id = ?", sc.ws, field_id)


async def by_name(sc: Scope[Connection], name: str) -> Row | None:
    return await sc.conn.fetch_one(f"{_SELECT} WHERE workspace_id = ? AND name = ?", sc.ws, name)


async def by_slug(sc: Scope[Connection], slug: str) -> Row | None:
    return await sc.conn.fetch_one(f"{_SELECT} WHERE workspace_id = ? AND slug = ?", sc.ws, slug)


async def by_names(sc: Scope[Connection], names: list[str]) -> list[Row]:
    """Definitions whose name or slug is in ``names``."""
    marks = ",".join("?" * len(names))
    return await sc.conn.fetch_all(
        f"{_SELECT} WHERE workspace_id = ? AND (name IN ({marks}) OR slug IN ({marks}))",
        sc.ws,
        *names,
        *names,
    )


async def insert(
    sc: Scope[Connection],
    *,
    name: str,
    slug: str,
    description: str | None,
    data_type: str,
    allowed_values: str | None,
    now: int,
) -> int | None:
    """The new definition's id; None (nothing written) when its name or slug is taken."""
    field_id: int | None = await sc.conn.fetch_val(
        "INSERT INTO custom_fields (workspace_id, name, slug, description, data_type,"
        " allowed_values, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING RETURNING id",
        sc.ws,
        name,
        slug,
        description,
        data_type,
        allowed_values,
        now,
    )
    return field_id


async def page(sc: Scope[Connection], cursor: Cursor) -> PageRows:
    return await fetch_page(sc, select=_SELECT, workspace="workspace_id", cursor=cursor, key="id")


async def delete(sc: Scope[Connection], field_id: int) -> bool:
    n = await sc.conn.execute(
        "DELETE FROM custom_fields WHERE workspace_id = ? AND id = ?", sc.ws, field_id
    )
    return n > 0


async def all_fields(sc: Scope[Connection]) -> list[Row]:
    return await sc.conn.fetch_all(f"{_SELECT} WHERE workspace_id = ? ORDER BY id", sc.ws)
