"""What sandbox channels delivered: the ``sandbox`` driver notes each message here, and the
sandbox's "sent" listing reads it back."""

from __future__ import annotations

from typing import Any

from openrespond.db import Connection, Scope
from openrespond.db.paging import Cursor, PageRows, fetch_page

__all__ = ["page_sent", "record_deliveries"]


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


async def page_sent(sc: Scope[Connection], channel_id: int, *, cursor: Cursor) -> PageRows:
    return await fetch_page(
        sc,
        select=(
            "SELECT id, message_id, contact_id, address, content, worker, delivered_at"
            " FROM sandbox_deliveries"
        ),
        workspace="workspace_id",
        where="channel_id = ?",
        args=(channel_id,),
        cursor=cursor,
        key="id",
    )
