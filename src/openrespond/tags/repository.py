"""SQL for tags and contact tags."""

from __future__ import annotations

from typing import Any

from openrespond.db import Connection, Row, Scope, sql
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


async def by_name(sc: Scope[Connection], name: str, *, for_update: bool = False) -> Row | None:
    """The tag called ``name``; with ``for_update``, locked until the transaction ends."""
    lock = sql.for_update(sc.conn.dialect) if for_update else ""
    return await sc.conn.fetch_one(
        f"{_SELECT} WHERE workspace_id = ? AND name = ?{lock}", sc.ws, name
    )


async def insert(sc: Scope[Connection], **v: Any) -> int | None:
    """The new tag's id; None (nothing written) when the name is taken."""
    tag_id: int | None = await sc.conn.fetch_val(
        "INSERT INTO tags (workspace_id, name, description, color_code, emoji, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        sc.ws,
        v["name"],
        v.get("description"),
        v.get("color_code"),
        v.get("emoji"),
        v["now"],
    )
    return tag_id


async def update(sc: Scope[Connection], tag_id: int, **v: Any) -> None:
    await sc.conn.execute(
        "UPDATE tags SET name = ?, description = ?, color_code = ?, emoji = ?"
        " WHERE workspace_id = ? AND id = ?",
        v["name"],
        v["description"],
        v["color_code"],
        v["emoji"],
        sc.ws,
        tag_id,
    )


async def delete(sc: Scope[Connection], tag_id: int) -> None:
    await sc.conn.execute("DELETE FROM tags WHERE workspace_id = ? AND id = ?", sc.ws, tag_id)


async def page(sc: Scope[Connection], cursor: Cursor) -> PageRows:
    return await fetch_page(sc, select=_SELECT, workspace="workspace_id", cursor=cursor, key="id")


async def ensure(sc: Scope[Connection], names: list[str], *, now: int) -> list[int]:
    """Ids of the named tags, creating the missing ones (in name order, so that two requests
    creating the same tags do not wait for each other in opposite orders)."""
    await sc.conn.execute_many(
        "INSERT INTO tags (workspace_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [(sc.ws, n, now) for n in sorted(names)],
    )
    marks = ",".join("?" * len(names))
    rows = await sc.conn.fetch_all(
        f"SELECT id FROM tags WHERE workspace_id = ? AND name IN ({marks})", sc.ws, *names
    )
    return [r[0] for r in rows]


async def ids_by_name(sc: Scope[Connection], names: list[str]) -> dict[str, int]:
    marks = ",".join("?" * len(names))
    rows = await sc.conn.fetch_all(
        f"SELECT name, id FROM tags WHERE workspace_id = ? AND name IN ({marks})", sc.ws, *names
    )
    return {r[0]: r[1] for r in rows}


async def attach(sc: Scope[Connection], contact_id: int, *, tag_ids: list[int], now: int) -> None:
    await attach_many(sc, [(contact_id, t, now) for t in tag_ids])


async def attach_many(sc: Scope[Connection], links: list[tuple[int, int, int]]) -> None:
    """(contact id, tag id, time) links; those that exist already are left as they are. A
    contact or tag of another workspace is not linked."""
    if links:
        await sc.conn.execute_many(
            "INSERT INTO contact_tags (contact_id, tag_id, created_at)"
            " SELECT c.id, t.id, ? FROM contacts c JOIN tags t ON t.workspace_id = c.workspace_id"
            " WHERE c.id = ? AND t.id = ? AND c.workspace_id = ? ON CONFLICT DO NOTHING",
            [(at, contact, tag, sc.ws) for contact, tag, at in links],
        )


async def detach(sc: Scope[Connection], contact_id: int, *, names: list[str]) -> None:
    marks = ",".join("?" * len(names))
    await sc.conn.execute(
        "DELETE FROM contact_tags WHERE contact_id = ? AND tag_id IN"
        f" (SELECT id FROM tags WHERE workspace_id = ? AND name IN ({marks}))",
        contact_id,
        sc.ws,
        *names,
    )


async def all_tags(sc: Scope[Connection]) -> list[Row]:
    return await sc.conn.fetch_all(f"{_SELECT} WHERE workspace_id = ? ORDER BY id", sc.ws)
