"""SQL for the sandbox's reset: emptying a workspace."""

from __future__ import annotations

from openrespond.db import Connection

__all__ = ["empty_workspace"]


async def empty_workspace(conn: Connection, ws: int) -> None:
    """Remove the workspace's contacts (and with them messages, conversations, comments,
    links and deliveries), tags, custom fields and stored idempotent replies."""
    for table in ("contacts", "tags", "custom_fields", "idempotency_keys"):
        await conn.execute(f"DELETE FROM {table} WHERE workspace_id = ?", ws)
