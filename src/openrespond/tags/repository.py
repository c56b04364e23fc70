"""SQL for tags and contact tags."""

from __future__ import annotations

from typing import Any

from openrespond.db import Connection, Row, sql
from openrespond.db.paging import Cursor, PageRows, fetch_page

__all__ = [
    "all_tags",
    "attach",
    "attach_many",
    "by_name",
    "delete",
    "detach",
    "ensure",
    "ids_by_name",
    "insert",
    "page",
    "update",
]

_SELECT = "SELECT id, name, description, color_code, emoji, created_at FROM tags"


async def by_name(conn: Connection, ws: int, name: str, *, for_update: bool = False) -> Row | None:
    """The tag called ``name``; with ``for_update``, locked until the transaction ends."""
    lock = sql.for_update(conn.dialect) if for_update else ""
    return await conn.fetch_one(f"{_SELECT} WHERE workspace_id = ? AND name = ?{lock}", ws, name)


async def insert(conn: Connection, ws: int, **v: Any) -> int | None:
    """The new tag's id; None (nothing written) when the name is taken."""
    tag_id: int | None = await conn.fetch_val(
        "INSERT INTO tags (workspace_id, name, description, color_code, emoji, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        ws,
        v["name"],
        v.get("description"),
        v.get("color_code"),
        v.get("emoji"),
        v["now"],
    )
    return tag_id


async def update(conn: Connection, ws: int, tag_id: int, **v: Any) -> None:
    await conn.execute(
        "UPDATE tags SET name = ?, description = ?, color_code = ?, emoji = ?"
        " WHERE workspace_id = ? AND id = ?",
        v["name"],
        v["description"],
        v["color_code"],
        v["emoji"],
        ws,
        tag_id,
    )


async def delete(conn: Connection, ws: int, tag_id: int) -> None:
    await conn.execute("DELETE FROM tags WHERE workspace_id = ? AND id = ?", ws, tag_id)


async def page(conn: Connection, ws: int, cursor: Cursor) -> PageRows:
    return await fetch_page(
        conn, select=_SELECT, where="workspace_id = ?", args=(ws,), cursor=cursor, key="id"
    )


async def ensure(conn: Connection, ws: int, names: list[str], now: int) -> list[int]:
    """Ids of the named tags, creating the missing ones (in name order, so that two requests
    creating the same tags do not wait for each other in opposite orders)."""
    await conn.execute_many(
        "INSERT INTO tags (workspace_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [(ws, n, now) for n in sorted(names)],
    )
    marks = ",".join("?" * len(names))
    rows = await conn.fetch_all(
        f"SELECT id FROM tags WHERE workspace_id = ? AND name IN ({marks})", ws, *names
    )
    return [r[0] for r in rows]


async def ids_by_name(conn: Connection, ws: int, names: list[str]) -> dict[str, int]:
    marks = ",".join("?" * len(names))
    rows = await conn.fetch_all(
        f"SELECT name, id FROM tags WHERE workspace_id = ? AND name IN ({marks})", ws, *names
    )
    return {r[0]: r[1] for r in rows}


async def attach(conn: Connection, contact_id: int, tag_ids: list[int], now: int) -> None:
    await attach_many(conn, [(contact_id, t, now) for t in tag_ids])


async def attach_many(conn: Connection, links: list[tuple[int, int, int]]) -> None:
    """(contact id, tag id, time) links; those that exist already are left as they are."""
    if links:
        await conn.execute_many(
            "INSERT INTO contact_tags (contact_id, tag_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            links,
        )


async def detach(conn: Connection, ws: int, contact_id: int, names: list[str]) -> None:
    marks = ",".join("?" * len(names))
    await conn.execute(
        "DELETE FROM contact_tags WHERE contact_id = ? AND tag_id IN"
        f" (SELECT id FROM tags WHERE workspace_id = ? AND name IN ({marks}))",
        contact_id,
        ws,
        *names,
    )


async def all_tags(conn: Connection, ws: int) -> list[Row]:
    return await conn.fetch_all(f"{_SELECT} WHERE workspace_id = ? ORDER BY id", ws)
