"""SQL for custom-field definitions."""

from __future__ import annotations

from openrespond.db import Connection, Row
from openrespond.db.paging import Cursor, PageRows, fetch_page

__all__ = [
    "all_fields",
    "by_name",
    "by_names",
    "by_slug",
    "delete",
    "get",
    "insert",
    "page",
]

_SELECT = (
    "SELECT id, name, slug, description, data_type, allowed_values, created_at FROM custom_fields"
)


async def get(conn: Connection, ws: int, field_id: int) -> Row | None:
    return await conn.fetch_one(f"{_SELECT} WHERE workspace_id = ? AND id = ?", ws, field_id)


async def by_name(conn: Connection, ws: int, name: str) -> Row | None:
    return await conn.fetch_one(f"{_SELECT} WHERE workspace_id = ? AND name = ?", ws, name)


async def by_slug(conn: Connection, ws: int, slug: str) -> Row | None:
    return await conn.fetch_one(f"{_SELECT} WHERE workspace_id = ? AND slug = ?", ws, slug)


async def by_names(conn: Connection, ws: int, names: list[str]) -> list[Row]:
    """Definitions whose name or slug is in ``names``."""
    marks = ",".join("?" * len(names))
    return await conn.fetch_all(
        f"{_SELECT} WHERE workspace_id = ? AND (name IN ({marks}) OR slug IN ({marks}))",
        ws,
        *names,
        *names,
    )


async def insert(
    conn: Connection,
    ws: int,
    *,
    name: str,
    slug: str,
    description: str | None,
    data_type: str,
    allowed_values: str | None,
    now: int,
) -> int | None:
    """The new definition's id; None (nothing written) when its name or slug is taken."""
    field_id: int | None = await conn.fetch_val(
        "INSERT INTO custom_fields (workspace_id, name, slug, description, data_type,"
        " allowed_values, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING RETURNING id",
        ws,
        name,
        slug,
        description,
        data_type,
        allowed_values,
        now,
    )
    return field_id


async def page(conn: Connection, ws: int, cursor: Cursor) -> PageRows:
    return await fetch_page(
        conn, select=_SELECT, where="workspace_id = ?", args=(ws,), cursor=cursor, key="id"
    )


async def delete(conn: Connection, ws: int, field_id: int) -> bool:
    n = await conn.execute(
        "DELETE FROM custom_fields WHERE workspace_id = ? AND id = ?", ws, field_id
    )
    return n > 0


async def all_fields(conn: Connection, ws: int) -> list[Row]:
    return await conn.fetch_all(f"{_SELECT} WHERE workspace_id = ? ORDER BY id", ws)
