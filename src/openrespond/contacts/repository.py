"""SQL for contacts. Every statement starts from the workspace id."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from openrespond.custom_fields.service import FieldValue
from openrespond.db import Connection, Row, sql
from openrespond.db.paging import Cursor, PageRows, fetch_page
from openrespond.identifiers import Identifier

__all__ = [
    "COLUMNS",
    "SELECT",
    "channels_page",
    "contact_json",
    "delete",
    "find_id",
    "get",
    "insert",
    "insert_new",
    "lock",
    "lock_id",
    "merge_channels",
    "merge_field_values",
    "merge_tags",
    "owner_of",
    "page",
    "select_json",
    "set_field_values",
    "update",
]

# Settable columns, in one order shared by insert and update.
COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "language",
    "profile_pic",
    "country_code",
    "lifecycle_stage_id",
    "assignee_user_id",
    "status",
)

SELECT = (
    "SELECT c.id, c.first_name, c.last_name, c.phone, c.email, c.language, c.profile_pic,"
    " c.country_code, c.status, c.created_at, c.lifecycle_stage_id, c.assignee_user_id"
    " FROM contacts c"
)


# The Contact wire object is kept ready in contacts.doc: triggers rebuild it from the
# contact_docs view (migration 0002) whenever anything it shows changes, so a read returns
# stored JSON text and a page of 100 contacts costs no Python object per field.
# The text goes out as UTF-8 bytes, never decoded into Python strings.
_SELECT_JSON = {
    dialect: f"SELECT c.id, {sql.as_bytes(dialect, 'c.doc')} FROM contacts c"
    for dialect in ("sqlite", "postgresql")
}


def select_json(conn: Connection) -> str:
    """``SELECT c.id, <Contact JSON as bytes> FROM contacts c`` in ``conn``'s dialect."""
    return _SELECT_JSON[conn.dialect]


async def contact_json(conn: Connection, ws: int, ident: Identifier) -> bytes | None:
    """The Contact JSON of the contact ``ident`` names in ``ws``."""
    column = {"id": "c.id", "email": "c.email", "phone": "c.phone"}[ident.kind]
    row = await conn.fetch_one(
        f"{select_json(conn)} WHERE c.workspace_id = ? AND {column} = ?", ws, ident.value
    )
    return None if row is None else bytes(row[1])


async def find_id(conn: Connection, ws: int, ident: Identifier) -> int | None:
    """The id of the contact ``ident`` names in ``ws``."""
    column = {"id": "id", "email": "email", "phone": "phone"}[ident.kind]
    value: int | None = await conn.fetch_val(
        f"SELECT id FROM contacts WHERE workspace_id = ? AND {column} = ?", ws, ident.value
    )
    return value


async def get(conn: Connection, ws: int, contact_id: int) -> Row | None:
    return await conn.fetch_one(f"{SELECT} WHERE c.workspace_id = ? AND c.id = ?", ws, contact_id)


async def lock(conn: Connection, ws: int, ident: Identifier, *, remove: bool = False) -> Row | None:
    """The contact ``ident`` names in ``ws``, its row locked until the transaction ends (for
    deleting it when ``remove``); None when there is none, or it went while we waited."""
    column = {"id": "c.id", "email": "c.email", "phone": "c.phone"}[ident.kind]
    return await conn.fetch_one(
        f"{SELECT} WHERE c.workspace_id = ? AND {column} = ?"
        f"{sql.for_update(conn.dialect, remove=remove)}",
        ws,
        ident.value,
    )


async def lock_id(
    conn: Connection, ws: int, contact_id: int, *, remove: bool = False
) -> Row | None:
    """``lock`` by id."""
    return await lock(conn, ws, Identifier("id", contact_id), remove=remove)


async def owner_of(
    conn: Connection, ws: int, column: str, value: str, exclude: int | None = None
) -> int | None:
    """The contact holding ``value`` in the unique ``column`` (email or phone), if any."""
    assert column in ("email", "phone")
    owner: int | None = await conn.fetch_val(
        f"SELECT id FROM contacts WHERE workspace_id = ? AND {column} = ? AND id <> ?",
        ws,
        value,
        exclude or 0,
    )
    return owner


async def insert(
    conn: Connection, ws: int, values: dict[str, Any], now: int, *, contact_id: int | None = None
) -> int:
    """A new contact; ``contact_id`` picks its id (demo data), else the next one."""
    cols = [c for c in COLUMNS if c in values]
    return await sql.insert_with_id(
        conn,
        "contacts",
        ["workspace_id", *cols, "created_at", "updated_at"],
        [ws, *(values[c] for c in cols), now, now],
        contact_id,
    )


async def insert_new(conn: Connection, ws: int, values: dict[str, Any], now: int) -> int | None:
    """A new contact, or None (and nothing written) when its email or phone is taken."""
    cols = tuple(c for c in COLUMNS if c in values)
    new_id: int | None = await conn.fetch_val(
        _insert_new_sql(cols), ws, *(values[c] for c in cols), now, now
    )
    return new_id


@functools.lru_cache(maxsize=256)
def _insert_new_sql(cols: tuple[str, ...]) -> str:
    marks = ", ".join("?" * (len(cols) + 3))
    return (
        f"INSERT INTO contacts (workspace_id, {', '.join(cols)}, created_at, updated_at)"
        f" VALUES ({marks}) ON CONFLICT DO NOTHING RETURNING id"
    )


async def update(
    conn: Connection, ws: int, contact_id: int, values: dict[str, Any], now: int
) -> None:
    cols = [c for c in COLUMNS if c in values]
    sets = "".join(f"{c} = ?, " for c in cols)
    await conn.execute(
        f"UPDATE contacts SET {sets}updated_at = ? WHERE workspace_id = ? AND id = ?",
        *(values[c] for c in cols),
        now,
        ws,
        contact_id,
    )


async def delete(conn: Connection, ws: int, contact_id: int) -> bool:
    n = await conn.execute("DELETE FROM contacts WHERE workspace_id = ? AND id = ?", ws, contact_id)
    return n > 0


async def page(
    conn: Connection, ws: int, where: str, args: Sequence[Any], cursor: Cursor
) -> PageRows:
    """Rows of (id, Contact JSON)."""
    return await fetch_page(
        conn,
        select=select_json(conn),
        where=f"c.workspace_id = ?{' AND ' + where if where else ''}",
        args=(ws, *args),
        cursor=cursor,
        key="c.id",
    )


async def set_field_values(conn: Connection, contact_id: int, values: Sequence[FieldValue]) -> None:
    """Upsert the given values; a value of None removes it."""
    gone = [(contact_id, v.field_id) for v in values if v.text is None]
    kept = [(contact_id, v.field_id, v.text, v.number) for v in values if v.text is not None]
    if gone:
        await conn.execute_many(
            "DELETE FROM contact_field_values WHERE contact_id = ? AND field_id = ?", gone
        )
    if kept:
        await conn.execute_many(
            "INSERT INTO contact_field_values (contact_id, field_id, value, value_num)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (contact_id, field_id)"
            " DO UPDATE SET value = excluded.value, value_num = excluded.value_num",
            kept,
        )


async def merge_field_values(conn: Connection, *, primary: int, secondary: int) -> None:
    """Copy the secondary's values for fields the primary has no value for."""
    await conn.execute(
        "INSERT INTO contact_field_values (contact_id, field_id, value, value_num)"
        " SELECT ?, field_id, value, value_num FROM contact_field_values WHERE contact_id = ?"
        " ON CONFLICT (contact_id, field_id) DO NOTHING",
        primary,
        secondary,
    )


async def merge_tags(conn: Connection, *, primary: int, secondary: int) -> None:
    await conn.execute(
        "INSERT INTO contact_tags (contact_id, tag_id, created_at)"
        " SELECT ?, tag_id, created_at FROM contact_tags WHERE contact_id = ?"
        " ON CONFLICT (contact_id, tag_id) DO NOTHING",
        primary,
        secondary,
    )


async def merge_channels(conn: Connection, *, primary: int, secondary: int) -> None:
    """Move the secondary's channel links; where both are linked, keep the latest times."""
    sql = (
        "SELECT channel_id, last_message_time, last_incoming_message_time"
        " FROM contact_channels WHERE contact_id = ?"
    )
    mine = {r[0]: r for r in await conn.fetch_all(sql, primary)}
    for row in await conn.fetch_all(sql, secondary):
        other = mine.get(row[0])
        if other is None:
            await conn.execute(
                "UPDATE contact_channels SET contact_id = ? WHERE contact_id = ? AND channel_id = ?",
                primary,
                secondary,
                row[0],
            )
            continue
        await conn.execute(
            "UPDATE contact_channels SET last_message_time = ?, last_incoming_message_time = ?"
            " WHERE contact_id = ? AND channel_id = ?",
            _latest(other[1], row[1]),
            _latest(other[2], row[2]),
            primary,
            row[0],
        )


def _latest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


async def channels_page(conn: Connection, ws: int, contact_id: int, cursor: Cursor) -> PageRows:
    return await fetch_page(
        conn,
        select=(
            "SELECT cc.id, ch.id AS channel_id, ch.name, ch.source, ch.created_at, cc.address,"
            " cc.last_message_time, cc.last_incoming_message_time"
            " FROM contact_channels cc JOIN channels ch ON ch.id = cc.channel_id"
        ),
        where="cc.workspace_id = ? AND cc.contact_id = ?",
        args=(ws, contact_id),
        cursor=cursor,
        key="cc.id",
    )
