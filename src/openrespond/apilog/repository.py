"""SQL of the API request log (``api_requests``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openrespond.db import Connection, Row, Scope, Transaction
from openrespond.db.paging import Cursor, PageRows, fetch_page

__all__ = [
    "batch_written",
    "insert_requests",
    "known_workspaces",
    "one",
    "page",
    "purge",
    "token_names",
]

_COLUMNS = (
    "r.id, r.token_id, r.at_ms, r.method, r.route, r.path, r.status, r.duration_us,"
    " r.request_id, r.request_body IS NOT NULL OR r.response_body IS NOT NULL AS has_body,"
    " t.name AS token_name"
)
_FROM = "api_requests r LEFT JOIN api_tokens t ON t.id = r.token_id"
_INSERT = (
    "INSERT INTO api_requests (workspace_id, token_id, at_ms, method, route, path, status,"
    " duration_us, request_id, request_body, response_body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def known_workspaces(tx: Transaction, workspaces: Sequence[int]) -> set[int]:
    """Across workspaces (the recorder's batch): which of ``workspaces`` still exist."""
    marks = ", ".join("?" * len(workspaces))
    rows = await tx.fetch_all(f"SELECT id FROM workspaces WHERE id IN ({marks})", *workspaces)
    return {r["id"] for r in rows}


async def insert_requests(tx: Transaction, rows: Sequence[Sequence[Any]]) -> None:
    """Across workspaces (the recorder batches every workspace's requests): the rows carry
    their workspace."""
    await tx.execute_many(_INSERT, rows)


async def batch_written(
    tx: Transaction,
    *,
    tokens: Sequence[tuple[int, int]],
    workspaces: Sequence[int],
    kind: str,
    now_ms: int,
) -> None:
    """Across workspaces: after a batch, each token's last use ((ms, token id) pairs), and a
    ``live_changes`` row of ``kind`` for each of ``workspaces`` so its open consoles refresh."""
    if tokens:
        await tx.execute_many(
            "UPDATE api_tokens SET last_used_ms = ?"
            " WHERE id = ? AND (last_used_ms IS NULL OR last_used_ms < ?)",
            [(at, token, at) for at, token in tokens],
        )
    await tx.execute_many(
        "INSERT INTO live_changes (workspace_id, kind, contact_id, created_ms) VALUES (?, ?, NULL, ?)",
        [(ws, kind, now_ms) for ws in workspaces],
    )


async def page(
    sc: Scope[Connection], *, cursor: Cursor, where: str, args: Sequence[Any]
) -> PageRows:
    """Newest first; ``where`` is built from the checked filters of the service."""
    return await fetch_page(
        sc,
        select=f"SELECT {_COLUMNS} FROM {_FROM}",
        workspace="r.workspace_id",
        where=where,
        args=args,
        cursor=cursor,
        key="r.id",
        descending=True,
    )


async def one(sc: Scope[Connection], request_pk: int) -> Row | None:
    return await sc.conn.fetch_one(
        f"SELECT {_COLUMNS}, r.request_body, r.response_body FROM {_FROM}"
        " WHERE r.workspace_id = ? AND r.id = ?",
        sc.ws,
        request_pk,
    )


async def token_names(sc: Scope[Connection]) -> list[Row]:
    return await sc.conn.fetch_all(
        "SELECT id, name, revoked_at FROM api_tokens WHERE workspace_id = ? ORDER BY id",
        sc.ws,
    )


async def purge(tx: Transaction, *, before_ms: int, keep: int, batch: int) -> int:
    """Across workspaces (retention): drop up to ``batch`` requests older than ``before_ms``
    or beyond the newest ``keep`` of their workspace; how many went."""
    gone = await tx.execute(
        "DELETE FROM api_requests WHERE id IN"
        " (SELECT id FROM api_requests WHERE at_ms < ? ORDER BY id LIMIT ?)",
        before_ms,
        batch,
    )
    if gone >= batch:
        return gone
    for row in await tx.fetch_all(
        "SELECT workspace_id FROM api_requests GROUP BY workspace_id HAVING count(*) > ?", keep
    ):
        floor = await tx.fetch_val(
            "SELECT id FROM api_requests WHERE workspace_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
            row["workspace_id"],
            keep - 1,
        )
        if floor is not None:
            gone += await tx.execute(
                "DELETE FROM api_requests WHERE id IN (SELECT id FROM api_requests"
                " WHERE workspace_id = ? AND id < ? ORDER BY id LIMIT ?)",
                row["workspace_id"],
                floor,
                batch,
            )
    return gone
