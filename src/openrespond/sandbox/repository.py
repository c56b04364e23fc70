"""SQL for the sandbox's reset: emptying a workspace."""

from __future__ import annotations

from openrespond.db import Connection, Scope

__all__ = ["empty_workspace"]


async def empty_workspace(sc: Scope[Connection]) -> None:
    """Remove the workspace's contacts (and with them messages, conversations, comments,
    links and deliveries), tags, custom fields and stored idempotent replies."""
    for table in ("contacts", "tags", "custom_fields", "idempotency_keys"):
        await sc.conn.execute(f"DELETE FROM {table} WHERE workspace_id = ?", sc.ws)
