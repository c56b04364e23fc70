"""What providers posted, kept until applied: stored by the webhook route, leased by the
inbound worker, deleted in the transaction that applies it."""

from __future__ import annotations

from collections.abc import Sequence

from openrespond import signals
from openrespond.db import Connection, Row, Transaction, sql

__all__ = ["claim", "due", "finish", "put", "queue_stats", "release", "retry"]


async def put(
    tx: Transaction, channel_id: int, *, content_type: str, body: str, now_ms: int
) -> None:
    """Keep one request of a provider; the inbound worker is woken on commit."""
    await tx.execute(
        "INSERT INTO provider_inbox (channel_id, content_type, body, received_ms, run_at_ms)"
        " VALUES (?, ?, ?, ?, ?)",
        channel_id,
        content_type,
        body,
        now_ms,
        now_ms,
    )
    tx.announce(signals.inbound)


async def claim(
    tx: Transaction, *, owner: str, now_ms: int, lease_ms: int, limit: int
) -> list[Row]:
    """Lease up to ``limit`` due requests, oldest first, with their channel."""
    lock = sql.skip_locked(tx.dialect)
    ids = await tx.fetch_all(
        "UPDATE provider_inbox SET lease_owner = ?, lease_until_ms = ?, attempts = attempts + 1"
        " WHERE id IN (SELECT id FROM provider_inbox WHERE run_at_ms <= ?"
        " AND (lease_until_ms IS NULL OR lease_until_ms <= ?)"
        f" ORDER BY id LIMIT ?{lock}) RETURNING id",
        owner,
        now_ms + lease_ms,
        now_ms,
        now_ms,
        limit,
    )
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    return await tx.fetch_all(
        "SELECT p.id, p.channel_id, p.content_type, p.body, p.received_ms, p.attempts,"
        " ch.workspace_id, ch.driver, ch.source, ch.settings"
        " FROM provider_inbox p JOIN channels ch ON ch.id = p.channel_id"
        f" WHERE p.id IN ({marks}) ORDER BY p.id",
        *(r[0] for r in ids),
    )


async def finish(tx: Transaction, owner: str, *, ids: Sequence[int]) -> set[int]:
    """Delete the requests this owner still holds; the ids deleted."""
    if not ids:
        return set()
    marks = ", ".join("?" * len(ids))
    rows = await tx.fetch_all(
        f"DELETE FROM provider_inbox WHERE lease_owner = ? AND id IN ({marks}) RETURNING id",
        owner,
        *ids,
    )
    return {r[0] for r in rows}


async def retry(
    tx: Transaction, request_id: int, *, owner: str, run_at_ms: int, error: str
) -> None:
    """Give a request back for another try at ``run_at_ms``."""
    await tx.execute(
        "UPDATE provider_inbox SET lease_owner = NULL, lease_until_ms = NULL, run_at_ms = ?,"
        " error = ? WHERE id = ? AND lease_owner = ?",
        run_at_ms,
        error[:1000],
        request_id,
        owner,
    )


async def release(tx: Transaction, owner: str) -> None:
    """Hand back every lease ``owner`` holds (shutdown)."""
    await tx.execute(
        "UPDATE provider_inbox SET lease_owner = NULL, lease_until_ms = NULL WHERE lease_owner = ?",
        owner,
    )


async def due(conn: Connection, *, now_ms: int) -> bool:
    """Whether a request is waiting to be applied (a read: idle workers poll with it)."""
    return (
        await conn.fetch_val(
            "SELECT 1 FROM provider_inbox WHERE run_at_ms <= ?"
            " AND (lease_until_ms IS NULL OR lease_until_ms <= ?) LIMIT 1",
            now_ms,
            now_ms,
        )
        is not None
    )


async def queue_stats(conn: Connection) -> tuple[int, int | None]:
    """Requests waiting and when the oldest came (ms)."""
    row = await conn.fetch_one("SELECT COUNT(*), MIN(received_ms) FROM provider_inbox")
    return (int(row[0]), row[1]) if row is not None else (0, None)
