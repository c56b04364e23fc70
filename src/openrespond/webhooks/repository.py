"""SQL for webhook subscriptions, their deliveries and the attempt log.

Subscription and log statements start from the workspace id. The worker's statements run
across workspaces (a worker serves them all) and are guarded by its lease instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openrespond.db import Connection, Row, Scope, Transaction, sql
from openrespond.db.paging import Cursor, PageRows, fetch_page

# What "send a test event" posts: no change happened, so no subscription asks for it.
TEST_EVENT = "webhook.test"

__all__ = [
    "TEST_EVENT",
    "Outcome",
    "claim",
    "claimed",
    "delete",
    "deliveries_page",
    "delivery",
    "delivery_attempts",
    "disable",
    "due",
    "due_endpoints",
    "endpoints",
    "get",
    "held",
    "insert",
    "insert_test_event",
    "list_all",
    "purge",
    "queue_stats",
    "record_attempts",
    "release",
    "replay",
    "set_outcomes",
    "update",
]

_HOOK = "id, url, events, description, enabled, disabled_reason, created_at, updated_at"


async def insert(
    sc: Scope[Transaction],
    *,
    url: str,
    events: list[str],
    secret: str,
    description: str | None,
    enabled: bool,
    now: int,
) -> int:
    hook_id: int = await sc.conn.fetch_val(
        "INSERT INTO webhooks (workspace_id, url, events, secret, description, enabled,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        sc.ws,
        url,
        json.dumps(events),
        secret,
        description,
        int(enabled),
        now,
        now,
    )
    return hook_id


async def get(sc: Scope[Connection], hook_id: int) -> Row | None:
    return await sc.conn.fetch_one(
        f"SELECT {_HOOK} FROM webhooks WHERE workspace_id = ? AND id = ?", sc.ws, hook_id
    )


async def list_all(sc: Scope[Connection]) -> list[Row]:
    return await sc.conn.fetch_all(
        f"SELECT {_HOOK} FROM webhooks WHERE workspace_id = ? ORDER BY id", sc.ws
    )


async def update(sc: Scope[Transaction], hook_id: int, *, cols: dict[str, Any], now: int) -> None:
    sets = ", ".join(f"{c} = ?" for c in cols)
    await sc.conn.execute(
        f"UPDATE webhooks SET {sets}, updated_at = ? WHERE workspace_id = ? AND id = ?",
        *cols.values(),
        now,
        sc.ws,
        hook_id,
    )


async def delete(sc: Scope[Transaction], hook_id: int) -> bool:
    return (
        await sc.conn.execute(
            "DELETE FROM webhooks WHERE workspace_id = ? AND id = ?", sc.ws, hook_id
        )
        > 0
    )


_DELIVERY_COLUMNS = (
    "d.id, d.webhook_id, e.uid, e.type, d.status, d.attempts, d.run_at, d.last_status,"
    " d.last_error, d.queued_ms, d.delivered_ms"
)
_DELIVERY = (
    f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN events e ON e.id = d.event_id"
)


async def deliveries_page(
    sc: Scope[Connection], hook_id: int, *, cursor: Cursor, status: str | None
) -> PageRows:
    """The subscription's deliveries, newest first."""
    where = "d.webhook_id = ?"
    args: list[Any] = [hook_id]
    if status is not None:
        where += " AND d.status = ?"
        args.append(status)
    return await fetch_page(
        sc,
        select=_DELIVERY,
        workspace="d.workspace_id",
        where=where,
        args=args,
        cursor=cursor,
        key="d.id",
        descending=True,
    )


async def delivery(sc: Scope[Connection], hook_id: int, *, delivery_id: int) -> Row | None:
    return await sc.conn.fetch_one(
        f"SELECT {_DELIVERY_COLUMNS}, e.body FROM webhook_deliveries d"
        " JOIN events e ON e.id = d.event_id WHERE d.workspace_id = ? AND d.webhook_id = ? AND d.id = ?",
        sc.ws,
        hook_id,
        delivery_id,
    )


async def delivery_attempts(sc: Scope[Connection], delivery_id: int) -> list[Row]:
    return await sc.conn.fetch_all(
        "SELECT a.attempt, a.started_ms, a.latency_ms, a.status_code, a.error, a.worker,"
        " a.request_headers, a.response_excerpt"
        " FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id"
        " WHERE a.delivery_id = ? AND d.workspace_id = ? ORDER BY a.id",
        delivery_id,
        sc.ws,
    )


async def replay(sc: Scope[Transaction], hook_id: int, *, delivery_id: int, now_ms: int) -> bool:
    """Queue a delivery again now, with a fresh retry horizon."""
    return (
        await sc.conn.execute(
            "UPDATE webhook_deliveries SET status = 'pending', run_at = ?, queued_ms = ?,"
            " delivered_ms = NULL, lease_owner = NULL, lease_until = NULL"
            " WHERE workspace_id = ? AND webhook_id = ? AND id = ?",
            now_ms,
            now_ms,
            sc.ws,
            hook_id,
            delivery_id,
        )
        > 0
    )


# -- the worker ---------------------------------------------------------------------------

_DUE = (
    "FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
    " WHERE d.status = 'pending' AND d.run_at <= ? AND w.enabled = 1"
    " AND (d.lease_until IS NULL OR d.lease_until <= ?)"
)


async def due(conn: Connection, *, now_ms: int, skip: Sequence[int] = ()) -> bool:
    """Whether a delivery is ready to be claimed for an endpoint not in ``skip`` (those this
    worker cannot take more of now): a read."""
    not_in = f" AND d.webhook_id NOT IN ({', '.join('?' * len(skip))})" if skip else ""
    return (
        await conn.fetch_val(f"SELECT 1 {_DUE}{not_in} LIMIT 1", now_ms, now_ms, *skip) is not None
    )


async def due_endpoints(tx: Transaction, *, now_ms: int) -> list[int]:
    """Enabled subscriptions with deliveries ready to be claimed, by id. The subscriptions
    with pending deliveries are found by skipping through their index (one step each,
    however long a backlog)."""
    rows = await tx.fetch_all(
        "WITH RECURSIVE queued(id) AS ("
        " SELECT MIN(webhook_id) FROM webhook_deliveries WHERE status = 'pending'"
        " UNION ALL SELECT (SELECT MIN(x.webhook_id) FROM webhook_deliveries x"
        " WHERE x.status = 'pending' AND x.webhook_id > queued.id)"
        " FROM queued WHERE queued.id IS NOT NULL)"
        " SELECT w.id FROM queued JOIN webhooks w ON w.id = queued.id WHERE w.enabled = 1"
        " AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id"
        " AND d.status = 'pending' AND d.run_at <= ?"
        " AND (d.lease_until IS NULL OR d.lease_until <= ?)) ORDER BY w.id",
        now_ms,
        now_ms,
    )
    return [r[0] for r in rows]


async def claim(
    tx: Transaction, *, owner: str, now_ms: int, lease_ms: int, quotas: dict[int, int]
) -> list[Row]:
    """Lease up to ``quotas[webhook]`` due deliveries of each subscription, oldest first;
    with what posting needs."""
    if not quotas:
        return []
    lock = sql.skip_locked(tx.dialect)
    picks = " UNION ALL ".join(
        "SELECT id FROM (SELECT d.id FROM webhook_deliveries d WHERE d.webhook_id = ?"
        " AND d.status = 'pending' AND d.run_at <= ?"
        " AND (d.lease_until IS NULL OR d.lease_until <= ?)"
        f" ORDER BY d.run_at, d.id LIMIT ?{lock}) q{i}"
        for i in range(len(quotas))
    )
    args: list[int] = []
    for hook_id, n in quotas.items():
        args += [hook_id, now_ms, now_ms, n]
    ids = [
        r[0]
        for r in await tx.fetch_all(
            "UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ?, attempts = attempts + 1"
            f" WHERE id IN ({picks}) RETURNING id",
            owner,
            now_ms + lease_ms,
            *args,
        )
    ]
    return await claimed(tx, owner, ids=ids)


async def claimed(conn: Connection, owner: str, *, ids: Sequence[int]) -> list[Row]:
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    return await conn.fetch_all(
        "SELECT d.id, d.attempts, d.queued_ms, d.webhook_id, w.url, w.secret, e.uid, e.body"
        " FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
        " JOIN events e ON e.id = d.event_id"
        f" WHERE d.lease_owner = ? AND d.id IN ({marks}) ORDER BY d.id",
        owner,
        *ids,
    )


async def held(tx: Transaction, owner: str, *, delivery_ids: Sequence[int]) -> set[int]:
    """Which of these deliveries ``owner`` still holds (a lease can run out and be taken)."""
    if not delivery_ids:
        return set()
    marks = ", ".join("?" * len(delivery_ids))
    rows = await tx.fetch_all(
        f"SELECT id FROM webhook_deliveries WHERE lease_owner = ? AND id IN ({marks})",
        owner,
        *delivery_ids,
    )
    return {r[0] for r in rows}


async def record_attempts(tx: Transaction, rows: Sequence[tuple[Any, ...]]) -> None:
    """Log attempts: rows of (delivery, attempt, worker, started_ms, latency_ms, status code,
    error)."""
    if rows:
        await tx.execute_many(
            "INSERT INTO webhook_attempts (delivery_id, attempt, worker, started_ms, latency_ms,"
            " status_code, error, request_headers, response_excerpt)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an attempt ends a delivery: delivered, failed for good, or pending again at
    ``run_at_ms``."""

    delivery_id: int
    status: str
    run_at_ms: int | None
    status_code: int | None
    error: str | None
    delivered_ms: int | None


async def set_outcomes(tx: Transaction, outcomes: Sequence[Outcome]) -> None:
    """Finish attempts, handing their leases back."""
    if outcomes:
        await tx.execute_many(
            "UPDATE webhook_deliveries SET status = ?, run_at = COALESCE(?, run_at),"
            " last_status = ?, last_error = ?, delivered_ms = ?, lease_owner = NULL,"
            " lease_until = NULL WHERE id = ?",
            [
                (o.status, o.run_at_ms, o.status_code, o.error, o.delivered_ms, o.delivery_id)
                for o in outcomes
            ],
        )


async def disable(tx: Transaction, hook_id: int, *, reason: str, now: int) -> None:
    await tx.execute(
        "UPDATE webhooks SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ?",
        reason,
        now,
        hook_id,
    )


async def release(tx: Transaction, owner: str) -> None:
    """Hand back every lease ``owner`` holds (a worker stopping)."""
    await tx.execute(
        "UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL,"
        " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE lease_owner = ? AND status = 'pending'",
        owner,
    )


async def purge(tx: Transaction, *, before_ms: int, limit: int = 1000) -> int:
    """Forget up to ``limit`` events older than ``before_ms`` that nothing waits to post,
    with their deliveries and attempt log; how many."""
    return await tx.execute(
        "DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.created_ms < ?"
        " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id"
        " AND d.status = 'pending') ORDER BY e.id LIMIT ?)",
        before_ms,
        limit,
    )


async def queue_stats(conn: Connection) -> tuple[int, int | None]:
    """Deliveries pending (due, in flight or backing off) and when the oldest was queued (ms)."""
    row = await conn.fetch_one(
        "SELECT COUNT(*), MIN(queued_ms) FROM webhook_deliveries WHERE status = 'pending'"
    )
    return (int(row[0]), row[1]) if row is not None else (0, None)


async def endpoints(conn: Connection) -> list[Row]:
    """Every subscription of every workspace, for the operator's checks (``doctor``)."""
    return await conn.fetch_all(
        "SELECT id, workspace_id, url, enabled, disabled_reason FROM webhooks"
        " ORDER BY workspace_id, id"
    )


async def insert_test_event(
    sc: Scope[Transaction], hook_id: int, *, uid: str, body: bytes, now_ms: int
) -> int:
    """An event for one subscription only; the id of its delivery."""
    event_id = await sc.conn.fetch_val(
        "INSERT INTO events (workspace_id, uid, type, body, created_ms) VALUES (?, ?, ?, ?, ?)"
        " RETURNING id",
        sc.ws,
        uid,
        TEST_EVENT,
        body,
        now_ms,
    )
    delivery_id: int = await sc.conn.fetch_val(
        "INSERT INTO webhook_deliveries (workspace_id, webhook_id, event_id, run_at, queued_ms)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id",
        sc.ws,
        hook_id,
        event_id,
        now_ms,
        now_ms,
    )
    return delivery_id
