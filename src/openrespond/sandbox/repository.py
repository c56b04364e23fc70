"""SQL for the sandbox: what its channels delivered, and emptying a workspace."""

from __future__ import annotations

from typing import Any

from openrespond.db import Connection
from openrespond.http.pagination import Cursor, PageRows, fetch_page

__all__ = ["empty_workspace", "page_sent", "record_deliveries"]


async def record_deliveries(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Note what sandbox channels received, once per message: rows of (workspace, channel,
    message, contact, address, content, worker, queued_ms, delivered_ms, delivered_at)."""
    if rows:
        await conn.execute_many(
            "INSERT INTO sandbox_deliveries (workspace_id, channel_id, message_id, contact_id,"
            " address, content, worker, queued_ms, delivered_ms, delivered_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
            rows,
        )


async def page_sent(conn: Connection, ws: int, channel_id: int, cursor: Cursor) -> PageRows:
    return await fetch_page(
        conn,
        select=(
            "SELECT id, message_id, contact_id, address, content, worker, delivered_at"
            " FROM sandbox_deliveries"
        ),
        where="workspace_id = ? AND channel_id = ?",
        args=(ws, channel_id),
        cursor=cursor,
        key="id",
    )


async def empty_workspace(conn: Connection, ws: int) -> None:
    """Remove the workspace's contacts (and with them messages, conversations, comments,
    links and deliveries), tags, custom fields and stored idempotent replies."""
    for table in ("contacts", "tags", "custom_fields", "idempotency_keys"):
        await conn.execute(f"DELETE FROM {table} WHERE workspace_id = ?", ws)
