"""SQL for the workspace catalogue. Every statement is scoped by ``workspace_id``."""

from __future__ import annotations

from typing import Any

from openrespond.db import Connection, Row, sql
from openrespond.db.paging import Cursor, PageRows, fetch_page

__all__ = [
    "USER_SELECT",
    "all_channels",
    "all_closing_notes",
    "all_templates",
    "all_users",
    "approved_template_exists",
    "channel_anywhere",
    "delete_channel",
    "delete_closing_note",
    "delete_lifecycle_stage",
    "delete_template",
    "delete_user",
    "delete_workspace",
    "delivery_channels",
    "find_demo_workspace",
    "find_token",
    "find_user",
    "get_channel",
    "get_lifecycle_stage_by_name",
    "get_meta",
    "get_template",
    "get_user",
    "get_workspace",
    "id_taken",
    "insert_channel",
    "insert_closing_note",
    "insert_lifecycle_stage",
    "insert_template",
    "insert_token",
    "insert_user",
    "insert_workspace",
    "list_lifecycle_stages",
    "list_tokens",
    "list_workspaces",
    "page_channels",
    "page_closing_notes",
    "page_templates",
    "page_users",
    "revoke_token",
    "set_meta",
    "set_token_hash",
    "token_by_hash",
    "update_channel",
    "upsert_team",
]

USER_SELECT = (
    "SELECT u.id, u.first_name, u.last_name, u.email, u.role, u.restrictions,"
    " t.id AS team_id, t.name AS team_name"
    " FROM users u LEFT JOIN teams t ON t.id = u.team_id"
)


async def upsert_team(conn: Connection, ws: int, name: str) -> int:
    await conn.execute(
        "INSERT INTO teams (workspace_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING", ws, name
    )
    team_id: int = await conn.fetch_val(
        "SELECT id FROM teams WHERE workspace_id = ? AND name = ?", ws, name
    )
    return team_id


async def insert_user(conn: Connection, ws: int, **values: Any) -> int:
    user_id: int = await conn.fetch_val(
        "INSERT INTO users (workspace_id, first_name, last_name, email, role, team_id,"
        " restrictions, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        ws,
        values["first_name"],
        values["last_name"],
        values["email"],
        values["role"],
        values["team_id"],
        values["restrictions"],
        values["created_at"],
    )
    return user_id


async def get_user(conn: Connection, ws: int, user_id: int) -> Row | None:
    return await conn.fetch_one(f"{USER_SELECT} WHERE u.workspace_id = ? AND u.id = ?", ws, user_id)


async def find_user(conn: Connection, ws: int, email: str) -> Row | None:
    return await conn.fetch_one(
        f"{USER_SELECT} WHERE u.workspace_id = ? AND u.email = ?", ws, email
    )


async def page_users(conn: Connection, ws: int, cursor: Cursor) -> PageRows:
    return await fetch_page(
        conn, select=USER_SELECT, where="u.workspace_id = ?", args=(ws,), cursor=cursor, key="u.id"
    )


async def delete_user(conn: Connection, ws: int, user_id: int) -> bool:
    return (
        await conn.execute("DELETE FROM users WHERE workspace_id = ? AND id = ?", ws, user_id) > 0
    )


async def insert_lifecycle_stage(conn: Connection, ws: int, name: str, now: int) -> int:
    position = await conn.fetch_val(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM lifecycle_stages WHERE workspace_id = ?", ws
    )
    stage_id: int = await conn.fetch_val(
        "INSERT INTO lifecycle_stages (workspace_id, name, position, created_at)"
        " VALUES (?, ?, ?, ?) RETURNING id",
        ws,
        name,
        position,
        now,
    )
    return stage_id


async def list_lifecycle_stages(conn: Connection, ws: int) -> list[Row]:
    return await conn.fetch_all(
        "SELECT id, name, position, created_at FROM lifecycle_stages WHERE workspace_id = ?"
        " ORDER BY position, id",
        ws,
    )


async def get_lifecycle_stage_by_name(conn: Connection, ws: int, name: str) -> Row | None:
    return await conn.fetch_one(
        "SELECT id, name FROM lifecycle_stages WHERE workspace_id = ? AND name = ?", ws, name
    )


async def delete_lifecycle_stage(conn: Connection, ws: int, name: str) -> bool:
    n = await conn.execute(
        "DELETE FROM lifecycle_stages WHERE workspace_id = ? AND name = ?", ws, name
    )
    return n > 0


async def insert_closing_note(
    conn: Connection, ws: int, category: str, description: str, now: int
) -> int:
    note_id: int = await conn.fetch_val(
        "INSERT INTO closing_notes (workspace_id, category, description, created_at)"
        " VALUES (?, ?, ?, ?) RETURNING id",
        ws,
        category,
        description,
        now,
    )
    return note_id


async def page_closing_notes(conn: Connection, ws: int, cursor: Cursor) -> PageRows:
    return await fetch_page(
        conn,
        select="SELECT id, category, description FROM closing_notes",
        where="workspace_id = ?",
        args=(ws,),
        cursor=cursor,
        key="id",
    )


async def delete_closing_note(conn: Connection, ws: int, category: str) -> bool:
    n = await conn.execute(
        "DELETE FROM closing_notes WHERE workspace_id = ? AND category = ?", ws, category
    )
    return n > 0


_CHANNEL_COLUMNS = "id, name, source, driver, settings, created_at"


async def insert_channel(conn: Connection, ws: int, **values: Any) -> int:
    return await sql.insert_with_id(
        conn,
        "channels",
        ["workspace_id", "name", "source", "driver", "settings", "created_at"],
        [
            ws,
            values["name"],
            values["source"],
            values["driver"],
            values["settings"],
            values["created_at"],
        ],
        values.get("id"),
    )


async def get_channel(
    conn: Connection, ws: int, channel_id: int, *, for_update: bool = False
) -> Row | None:
    """The channel; with ``for_update``, locked until the transaction ends."""
    lock = sql.for_update(conn.dialect) if for_update else ""
    return await conn.fetch_one(
        f"SELECT {_CHANNEL_COLUMNS} FROM channels WHERE workspace_id = ? AND id = ?{lock}",
        ws,
        channel_id,
    )


async def channel_anywhere(conn: Connection, channel_id: int) -> Row | None:
    """A channel by id in whatever workspace holds it: for requests that prove themselves
    with the channel's own token (custom-channel bridges), not a workspace token."""
    return await conn.fetch_one(
        f"SELECT workspace_id, {_CHANNEL_COLUMNS} FROM channels WHERE id = ?", channel_id
    )


async def page_channels(conn: Connection, ws: int, cursor: Cursor) -> PageRows:
    return await fetch_page(
        conn,
        select=f"SELECT {_CHANNEL_COLUMNS} FROM channels",
        where="workspace_id = ?",
        args=(ws,),
        cursor=cursor,
        key="id",
    )


async def update_channel(
    conn: Connection, ws: int, channel_id: int, *, name: str | None, settings: str | None
) -> bool:
    n = await conn.execute(
        "UPDATE channels SET name = COALESCE(?, name), settings = COALESCE(?, settings)"
        " WHERE workspace_id = ? AND id = ?",
        name,
        settings,
        ws,
        channel_id,
    )
    return n > 0


async def delete_channel(conn: Connection, ws: int, channel_id: int) -> bool:
    n = await conn.execute("DELETE FROM channels WHERE workspace_id = ? AND id = ?", ws, channel_id)
    return n > 0


_TEMPLATE_COLUMNS = "id, channel_id, name, language_code, category, status, components, created_at"


async def insert_template(conn: Connection, ws: int, **values: Any) -> int:
    template_id: int = await conn.fetch_val(
        "INSERT INTO templates (workspace_id, channel_id, name, language_code, category, status,"
        " components, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        ws,
        values["channel_id"],
        values["name"],
        values["language_code"],
        values["category"],
        values["status"],
        values["components"],
        values["created_at"],
    )
    return template_id


async def get_template(conn: Connection, ws: int, template_id: int) -> Row | None:
    return await conn.fetch_one(
        f"SELECT {_TEMPLATE_COLUMNS} FROM templates WHERE workspace_id = ? AND id = ?",
        ws,
        template_id,
    )


async def approved_template_exists(
    conn: Connection, ws: int, channel_id: int, *, name: str, language_code: str
) -> bool:
    found = await conn.fetch_val(
        "SELECT 1 FROM templates WHERE workspace_id = ? AND channel_id = ? AND name = ?"
        " AND language_code = ? AND status = 'approved'",
        ws,
        channel_id,
        name,
        language_code,
    )
    return found is not None


async def page_templates(conn: Connection, ws: int, channel_id: int, cursor: Cursor) -> PageRows:
    return await fetch_page(
        conn,
        select=f"SELECT {_TEMPLATE_COLUMNS} FROM templates",
        where="workspace_id = ? AND channel_id = ?",
        args=(ws, channel_id),
        cursor=cursor,
        key="id",
    )


async def delete_template(conn: Connection, ws: int, template_id: int) -> bool:
    n = await conn.execute(
        "DELETE FROM templates WHERE workspace_id = ? AND id = ?", ws, template_id
    )
    return n > 0


async def insert_workspace(
    conn: Connection, *, name: str, org_id: int, is_demo: bool, now: int
) -> int:
    wid: int = await conn.fetch_val(
        "INSERT INTO workspaces (name, org_id, is_demo, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        name,
        org_id,
        int(is_demo),
        now,
    )
    return wid


async def get_workspace(conn: Connection, ws: int) -> Row | None:
    return await conn.fetch_one(
        "SELECT id, name, org_id, is_demo, created_at FROM workspaces WHERE id = ?", ws
    )


async def find_demo_workspace(conn: Connection) -> Row | None:
    return await conn.fetch_one(
        "SELECT id, name, org_id, is_demo, created_at FROM workspaces WHERE is_demo = 1"
        " ORDER BY id LIMIT 1"
    )


async def list_workspaces(conn: Connection) -> list[Row]:
    return await conn.fetch_all(
        "SELECT id, name, org_id, is_demo, created_at FROM workspaces ORDER BY id"
    )


async def delete_workspace(conn: Connection, ws: int) -> bool:
    return await conn.execute("DELETE FROM workspaces WHERE id = ?", ws) > 0


async def insert_token(
    conn: Connection, ws: int, *, name: str, token_hash: str, kind: str, now: int
) -> int:
    token_id: int = await conn.fetch_val(
        "INSERT INTO api_tokens (workspace_id, name, token_hash, kind, created_at)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id",
        ws,
        name,
        token_hash,
        kind,
        now,
    )
    return token_id


async def set_token_hash(conn: Connection, ws: int, token_id: int, token_hash: str) -> None:
    await conn.execute(
        "UPDATE api_tokens SET token_hash = ? WHERE workspace_id = ? AND id = ?",
        token_hash,
        ws,
        token_id,
    )


async def list_tokens(conn: Connection, ws: int) -> list[Row]:
    return await conn.fetch_all(
        "SELECT id, name, kind, created_at, revoked_at FROM api_tokens WHERE workspace_id = ?"
        " ORDER BY id",
        ws,
    )


async def find_token(conn: Connection, ws: int, *, name: str, kind: str) -> Row | None:
    return await conn.fetch_one(
        "SELECT id, name, kind, token_hash, created_at, revoked_at FROM api_tokens"
        " WHERE workspace_id = ? AND name = ? AND kind = ? AND revoked_at IS NULL"
        " ORDER BY id LIMIT 1",
        ws,
        name,
        kind,
    )


async def token_by_hash(conn: Connection, token_hash: str) -> Row | None:
    return await conn.fetch_one(
        "SELECT id, workspace_id, revoked_at FROM api_tokens WHERE token_hash = ?", token_hash
    )


async def revoke_token(conn: Connection, ws: int, token_id: int, now: int) -> bool:
    n = await conn.execute(
        "UPDATE api_tokens SET revoked_at = ? WHERE workspace_id = ? AND id = ?"
        " AND revoked_at IS NULL",
        now,
        ws,
        token_id,
    )
    return n > 0


async def get_meta(conn: Connection, key: str) -> str | None:
    value: str | None = await conn.fetch_val("SELECT value FROM meta WHERE key = ?", key)
    return value


async def set_meta(conn: Connection, key: str, value: str) -> None:
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        key,
        value,
    )


async def all_users(conn: Connection, ws: int) -> list[Row]:
    return await conn.fetch_all(f"{USER_SELECT} WHERE u.workspace_id = ? ORDER BY u.id", ws)


async def all_channels(conn: Connection, ws: int) -> list[Row]:
    return await conn.fetch_all(
        f"SELECT {_CHANNEL_COLUMNS} FROM channels WHERE workspace_id = ? ORDER BY id", ws
    )


async def all_closing_notes(conn: Connection, ws: int) -> list[Row]:
    return await conn.fetch_all(
        "SELECT id, category, description FROM closing_notes WHERE workspace_id = ? ORDER BY id", ws
    )


async def all_templates(conn: Connection, ws: int, channel_id: int) -> list[Row]:
    return await conn.fetch_all(
        f"SELECT {_TEMPLATE_COLUMNS} FROM templates WHERE workspace_id = ? AND channel_id = ?"
        " ORDER BY id",
        ws,
        channel_id,
    )


async def id_taken(conn: Connection, table: str, row_id: int) -> bool:
    """Whether any workspace already has a row of ``table`` with this id."""
    assert table in ("channels", "contacts")
    return await conn.fetch_val(f"SELECT 1 FROM {table} WHERE id = ?", row_id) is not None


async def delivery_channels(conn: Connection) -> list[Row]:
    """Channels of every workspace whose driver reaches out (not the sandbox), for the
    operator's checks (``doctor``)."""
    return await conn.fetch_all(
        "SELECT id, workspace_id, name, driver, settings FROM channels"
        " WHERE driver != 'sandbox' ORDER BY workspace_id, id"
    )
