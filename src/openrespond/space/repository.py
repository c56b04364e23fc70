"""SQL for the workspace catalogue. Every statement is scoped by ``workspace_id``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openrespond.db import Connection, Row, Scope, Transaction, sql
from openrespond.db.paging import Cursor, PageRows, fetch_page

__all__ = [
    "USER_SELECT",
    "all_canned_replies",
    "all_channels",
    "all_closing_notes",
    "all_templates",
    "all_users",
    "approved_template_exists",
    "channel_anywhere",
    "delete_canned_reply",
    "delete_channel",
    "delete_closing_note",
    "delete_lifecycle_stage",
    "delete_synced_templates",
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
    "insert_canned_reply",
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
    "upsert_synced_template",
    "upsert_team",
]

USER_SELECT = (
    "SELECT u.id, u.first_name, u.last_name, u.email, u.role, u.restrictions,"
    " t.id AS team_id, t.name AS team_name, (u.password_hash IS NOT NULL) AS has_password,"
    " u.active"
    " FROM users u LEFT JOIN teams t ON t.id = u.team_id"
)


async def upsert_team(sc: Scope[Connection], name: str) -> int:
    await sc.conn.execute(
        "INSERT INTO teams (workspace_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING", sc.ws, name
    )
    team_id: int = await sc.conn.fetch_val(
        "SELECT id FROM teams WHERE workspace_id = ? AND name = ?", sc.ws, name
    )
    return team_id


async def insert_user(sc: Scope[Connection], **values: Any) -> int:
    user_id: int = await sc.conn.fetch_val(
        "INSERT INTO users (workspace_id, first_name, last_name, email, role, team_id,"
        " restrictions, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        sc.ws,
        values["first_name"],
        values["last_name"],
        values["email"],
        values["role"],
        values["team_id"],
        values["restrictions"],
        values["created_at"],
    )
    return user_id


async def get_user(sc: Scope[Connection], user_id: int) -> Row | None:
    return await sc.conn.fetch_one(
        f"{USER_SELECT} WHERE u.workspace_id = ? AND u.id = ?", sc.ws, user_id
    )


async def find_user(sc: Scope[Connection], email: str) -> Row | None:
    return await sc.conn.fetch_one(
        f"{USER_SELECT} WHERE u.workspace_id = ? AND u.email = ?", sc.ws, email
    )


async def page_users(sc: Scope[Connection], cursor: Cursor) -> PageRows:
    return await fetch_page(
        sc,
        select=USER_SELECT,
        workspace="u.workspace_id",
        cursor=cursor,
        key="u.id",
    )


async def delete_user(sc: Scope[Connection], user_id: int) -> bool:
    return (
        await sc.conn.execute("DELETE FROM users WHERE workspace_id = ? AND id = ?", sc.ws, user_id)
        > 0
    )


async def insert_lifecycle_stage(sc: Scope[Connection], name: str, *, now: int) -> int:
    position = await sc.conn.fetch_val(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM lifecycle_stages WHERE workspace_id = ?", sc.ws
    )
    stage_id: int = await sc.conn.fetch_val(
        "INSERT INTO lifecycle_stages (workspace_id, name, position, created_at)"
        " VALUES (?, ?, ?, ?) RETURNING id",
        sc.ws,
        name,
        position,
        now,
    )
    return stage_id


async def list_lifecycle_stages(sc: Scope[Connection]) -> list[Row]:
    return await sc.conn.fetch_all(
        "SELECT id, name, position, created_at FROM lifecycle_stages WHERE workspace_id = ?"
        " ORDER BY position, id",
        sc.ws,
    )


async def get_lifecycle_stage_by_name(sc: Scope[Connection], name: str) -> Row | None:
    return await sc.conn.fetch_one(
        "SELECT id, name FROM lifecycle_stages WHERE workspace_id = ? AND name = ?", sc.ws, name
    )


async def delete_lifecycle_stage(sc: Scope[Connection], name: str) -> bool:
    n = await sc.conn.execute(
        "DELETE FROM lifecycle_stages WHERE workspace_id = ? AND name = ?", sc.ws, name
    )
    return n > 0


async def insert_closing_note(
    sc: Scope[Connection], category: str, *, description: str, now: int
) -> int:
    note_id: int = await sc.conn.fetch_val(
        "INSERT INTO closing_notes (workspace_id, category, description, created_at)"
        " VALUES (?, ?, ?, ?) RETURNING id",
        sc.ws,
        category,
        description,
        now,
    )
    return note_id


async def page_closing_notes(sc: Scope[Connection], cursor: Cursor) -> PageRows:
    return await fetch_page(
        sc,
        select="SELECT id, category, description FROM closing_notes",
        workspace="workspace_id",
        cursor=cursor,
        key="id",
    )


async def delete_closing_note(sc: Scope[Connection], category: str) -> bool:
    n = await sc.conn.execute(
        "DELETE FROM closing_notes WHERE workspace_id = ? AND category = ?", sc.ws, category
    )
    return n > 0


_CHANNEL_COLUMNS = "id, name, source, driver, settings, created_at"


async def insert_channel(sc: Scope[Connection], **values: Any) -> int:
    return await sql.insert_with_id(
        sc.conn,
        "channels",
        ["workspace_id", "name", "source", "driver", "settings", "created_at"],
        [
            sc.ws,
            values["name"],
            values["source"],
            values["driver"],
            values["settings"],
            values["created_at"],
        ],
        values.get("id"),
    )


async def get_channel(
    sc: Scope[Connection], channel_id: int, *, for_update: bool = False
) -> Row | None:
    """The channel; with ``for_update``, locked until the transaction ends."""
    lock = sql.for_update(sc.conn.dialect) if for_update else ""
    return await sc.conn.fetch_one(
        f"SELECT {_CHANNEL_COLUMNS} FROM channels WHERE workspace_id = ? AND id = ?{lock}",
        sc.ws,
        channel_id,
    )


async def channel_anywhere(conn: Connection, channel_id: int) -> Row | None:
    """A channel by id in whatever workspace holds it: for requests that prove themselves
    with the channel's own token (custom-channel bridges), not a workspace token."""
    return await conn.fetch_one(
        f"SELECT workspace_id, {_CHANNEL_COLUMNS} FROM channels WHERE id = ?", channel_id
    )


async def page_channels(sc: Scope[Connection], cursor: Cursor) -> PageRows:
    return await fetch_page(
        sc,
        select=f"SELECT {_CHANNEL_COLUMNS} FROM channels",
        workspace="workspace_id",
        cursor=cursor,
        key="id",
    )


async def update_channel(
    sc: Scope[Connection], channel_id: int, *, name: str | None, settings: str | None
) -> bool:
    n = await sc.conn.execute(
        "UPDATE channels SET name = COALESCE(?, name), settings = COALESCE(?, settings)"
        " WHERE workspace_id = ? AND id = ?",
        name,
        settings,
        sc.ws,
        channel_id,
    )
    return n > 0


async def delete_channel(sc: Scope[Connection], channel_id: int) -> bool:
    n = await sc.conn.execute(
        "DELETE FROM channels WHERE workspace_id = ? AND id = ?", sc.ws, channel_id
    )
    return n > 0


_TEMPLATE_COLUMNS = (
    "id, channel_id, name, language_code, category, status, components, created_at,"
    " provider_id, updated_at, status_detail, quality_score"
)


async def insert_template(sc: Scope[Connection], **values: Any) -> int:
    template_id: int = await sc.conn.fetch_val(
        "INSERT INTO templates (workspace_id, channel_id, name, language_code, category, status,"
        " components, provider_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        sc.ws,
        values["channel_id"],
        values["name"],
        values["language_code"],
        values["category"],
        values["status"],
        values["components"],
        values.get("provider_id"),
        values["created_at"],
    )
    return template_id


async def upsert_synced_template(sc: Scope[Connection], **values: Any) -> str:
    """Insert or refresh a template as the provider describes it (keyed by channel, name
    and language); ``added``, ``changed`` or ``same``."""
    current = await sc.conn.fetch_one(
        "SELECT id, category, status, components, provider_id, status_detail, quality_score"
        " FROM templates WHERE workspace_id = ? AND channel_id = ? AND name = ?"
        " AND language_code = ?",
        sc.ws,
        values["channel_id"],
        values["name"],
        values["language_code"],
    )
    fields = ("category", "status", "components", "provider_id", "status_detail", "quality_score")
    if current is None:
        await sc.conn.execute(
            "INSERT INTO templates (workspace_id, channel_id, name, language_code, category,"
            " status, components, provider_id, status_detail, quality_score, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            sc.ws,
            values["channel_id"],
            values["name"],
            values["language_code"],
            *(values[f] for f in fields),
            values["now"],
            values["now"],
        )
        return "added"
    if all(current[f] == values[f] for f in fields):
        return "same"
    await sc.conn.execute(
        "UPDATE templates SET category = ?, status = ?, components = ?, provider_id = ?,"
        " status_detail = ?, quality_score = ?, updated_at = ? WHERE workspace_id = ? AND id = ?",
        *(values[f] for f in fields),
        values["now"],
        sc.ws,
        current["id"],
    )
    return "changed"


async def delete_synced_templates(
    sc: Scope[Connection], channel_id: int, *, keep: Sequence[str]
) -> int:
    """Drop the channel's synchronised templates whose provider ids are not in ``keep``
    (templates added by hand, which have no ``updated_at``, stay)."""
    rows = await sc.conn.fetch_all(
        "SELECT id, provider_id FROM templates WHERE workspace_id = ? AND channel_id = ?"
        " AND provider_id IS NOT NULL AND updated_at IS NOT NULL",
        sc.ws,
        channel_id,
    )
    gone = [r["id"] for r in rows if r["provider_id"] not in set(keep)]
    for template_id in gone:
        await sc.conn.execute(
            "DELETE FROM templates WHERE workspace_id = ? AND id = ?", sc.ws, template_id
        )
    return len(gone)


async def get_template(sc: Scope[Connection], template_id: int) -> Row | None:
    return await sc.conn.fetch_one(
        f"SELECT {_TEMPLATE_COLUMNS} FROM templates WHERE workspace_id = ? AND id = ?",
        sc.ws,
        template_id,
    )


async def approved_template_exists(
    sc: Scope[Connection], channel_id: int, *, name: str, language_code: str
) -> bool:
    found = await sc.conn.fetch_val(
        "SELECT 1 FROM templates WHERE workspace_id = ? AND channel_id = ? AND name = ?"
        " AND language_code = ? AND status = 'approved'",
        sc.ws,
        channel_id,
        name,
        language_code,
    )
    return found is not None


async def page_templates(sc: Scope[Connection], channel_id: int, *, cursor: Cursor) -> PageRows:
    return await fetch_page(
        sc,
        select=f"SELECT {_TEMPLATE_COLUMNS} FROM templates",
        workspace="workspace_id",
        where="channel_id = ?",
        args=(channel_id,),
        cursor=cursor,
        key="id",
    )


async def delete_template(sc: Scope[Connection], template_id: int) -> bool:
    n = await sc.conn.execute(
        "DELETE FROM templates WHERE workspace_id = ? AND id = ?", sc.ws, template_id
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


async def get_workspace(sc: Scope[Connection]) -> Row | None:
    return await sc.conn.fetch_one(
        "SELECT id, name, org_id, is_demo, created_at FROM workspaces WHERE id = ?", sc.ws
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


async def delete_workspace(sc: Scope[Connection]) -> bool:
    return await sc.conn.execute("DELETE FROM workspaces WHERE id = ?", sc.ws) > 0


async def insert_token(
    sc: Scope[Connection], *, name: str, token_hash: str, kind: str, now: int
) -> int:
    token_id: int = await sc.conn.fetch_val(
        "INSERT INTO api_tokens (workspace_id, name, token_hash, kind, created_at)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id",
        sc.ws,
        name,
        token_hash,
        kind,
        now,
    )
    return token_id


async def set_token_hash(sc: Scope[Connection], token_id: int, *, token_hash: str) -> None:
    await sc.conn.execute(
        "UPDATE api_tokens SET token_hash = ? WHERE workspace_id = ? AND id = ?",
        token_hash,
        sc.ws,
        token_id,
    )


async def list_tokens(sc: Scope[Connection]) -> list[Row]:
    return await sc.conn.fetch_all(
        "SELECT id, name, kind, created_at, revoked_at, last_used_ms FROM api_tokens"
        " WHERE workspace_id = ?"
        " ORDER BY id",
        sc.ws,
    )


async def find_token(sc: Scope[Connection], *, name: str, kind: str) -> Row | None:
    return await sc.conn.fetch_one(
        "SELECT id, name, kind, token_hash, created_at, revoked_at FROM api_tokens"
        " WHERE workspace_id = ? AND name = ? AND kind = ? AND revoked_at IS NULL"
        " ORDER BY id LIMIT 1",
        sc.ws,
        name,
        kind,
    )


async def token_by_hash(conn: Connection, token_hash: str) -> Row | None:
    return await conn.fetch_one(
        "SELECT id, workspace_id, revoked_at FROM api_tokens WHERE token_hash = ?", token_hash
    )


async def revoke_token(sc: Scope[Connection], token_id: int, *, now: int) -> bool:
    n = await sc.conn.execute(
        "UPDATE api_tokens SET revoked_at = ? WHERE workspace_id = ? AND id = ?"
        " AND revoked_at IS NULL",
        now,
        sc.ws,
        token_id,
    )
    return n > 0


async def restore_token(sc: Scope[Connection], token_id: int) -> None:
    await sc.conn.execute(
        "UPDATE api_tokens SET revoked_at = NULL WHERE workspace_id = ? AND id = ?",
        sc.ws,
        token_id,
    )


async def get_meta(conn: Connection, key: str) -> str | None:
    value: str | None = await conn.fetch_val("SELECT value FROM meta WHERE key = ?", key)
    return value


async def set_meta(conn: Connection, key: str, *, value: str) -> None:
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        key,
        value,
    )


async def all_users(sc: Scope[Connection]) -> list[Row]:
    return await sc.conn.fetch_all(f"{USER_SELECT} WHERE u.workspace_id = ? ORDER BY u.id", sc.ws)


async def all_channels(sc: Scope[Connection]) -> list[Row]:
    return await sc.conn.fetch_all(
        f"SELECT {_CHANNEL_COLUMNS} FROM channels WHERE workspace_id = ? ORDER BY id", sc.ws
    )


async def all_closing_notes(sc: Scope[Connection]) -> list[Row]:
    return await sc.conn.fetch_all(
        "SELECT id, category, description FROM closing_notes WHERE workspace_id = ? ORDER BY id",
        sc.ws,
    )


async def all_templates(sc: Scope[Connection], channel_id: int) -> list[Row]:
    return await sc.conn.fetch_all(
        f"SELECT {_TEMPLATE_COLUMNS} FROM templates WHERE workspace_id = ? AND channel_id = ?"
        " ORDER BY id",
        sc.ws,
        channel_id,
    )


async def id_taken(conn: Connection, table: str, *, row_id: int) -> bool:
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


async def all_canned_replies(sc: Scope[Connection]) -> list[Row]:
    return await sc.conn.fetch_all(
        "SELECT id, short_code, text FROM canned_replies WHERE workspace_id = ?"
        " ORDER BY short_code",
        sc.ws,
    )


async def insert_canned_reply(
    sc: Scope[Connection], *, short_code: str, text: str, now: int
) -> int | None:
    """The new reply's id; None when the workspace has one with this short code."""
    found: int | None = await sc.conn.fetch_val(
        "INSERT INTO canned_replies (workspace_id, short_code, text, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (workspace_id, short_code) DO NOTHING RETURNING id",
        sc.ws,
        short_code,
        text,
        now,
    )
    return found


async def delete_canned_reply(sc: Scope[Connection], reply_id: int) -> bool:
    return (
        await sc.conn.execute(
            "DELETE FROM canned_replies WHERE workspace_id = ? AND id = ?", sc.ws, reply_id
        )
        > 0
    )


async def lock_owners(sc: Scope[Transaction]) -> list[Row]:
    """The workspace's active owners, locked: concurrent role changes take turns."""
    return await sc.conn.fetch_all(
        "SELECT id FROM users WHERE workspace_id = ? AND role = 'owner' AND active = 1"
        + sql.for_update(sc.conn.dialect),
        sc.ws,
    )


async def update_member(
    sc: Scope[Transaction], user_id: int, *, role: str | None, active: bool | None
) -> bool:
    sets: list[str] = []
    args: list[Any] = []
    if role is not None:
        sets.append("role = ?")
        args.append(role)
    if active is not None:
        sets.append("active = ?")
        args.append(int(active))
    if not sets:
        return await get_user(sc, user_id) is not None
    return (
        await sc.conn.execute(
            f"UPDATE users SET {', '.join(sets)} WHERE workspace_id = ? AND id = ?",
            *args,
            sc.ws,
            user_id,
        )
        == 1
    )
