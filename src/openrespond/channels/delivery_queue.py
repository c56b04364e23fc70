"""The delivery queue: a job per outgoing message, enqueued with it, claimed with a lease,
finished or retried."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from openrespond import signals
from openrespond.db import Connection, Row, Scope, Transaction, sql

__all__ = [
    "adopt",
    "cancel_for_message",
    "claim",
    "due",
    "due_channels",
    "enqueue",
    "finish_many",
    "jobs_for",
    "queue_stats",
    "release",
    "retry",
]


async def enqueue(
    sc: Scope[Transaction], message_id: int, *, channel_id: int, run_at_ms: int
) -> None:
    """Queue the delivery of a message on its channel; a worker of this process is woken on
    commit."""
    await sc.conn.execute(
        "INSERT INTO delivery_jobs (workspace_id, message_id, channel_id, run_at, queued_ms,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?)",
        sc.ws,
        message_id,
        channel_id,
        run_at_ms,
        run_at_ms,
        run_at_ms // 1000,
    )
    sc.conn.announce(signals.deliveries)


_DUE = "run_at <= ? AND (lease_until IS NULL OR lease_until <= ?)"


async def due_channels(tx: Transaction, *, now_ms: int) -> list[Row]:
    """(id, driver) of every channel with jobs ready to be claimed, by id. The channels
    holding jobs are found by skipping through the channel index (one step a channel,
    however long its queue)."""
    return await tx.fetch_all(
        "WITH RECURSIVE queued(id) AS ("
        " SELECT MIN(channel_id) FROM delivery_jobs"
        " UNION ALL SELECT (SELECT MIN(j.channel_id) FROM delivery_jobs j"
        " WHERE j.channel_id > queued.id) FROM queued WHERE queued.id IS NOT NULL)"
        " SELECT ch.id, ch.driver FROM queued JOIN channels ch ON ch.id = queued.id"
        " WHERE EXISTS (SELECT 1 FROM delivery_jobs j WHERE j.channel_id = ch.id"
        " AND j.run_at <= ? AND (j.lease_until IS NULL OR j.lease_until <= ?))"
        " ORDER BY ch.id",
        now_ms,
        now_ms,
    )


async def adopt(tx: Transaction) -> int:
    """Give jobs queued without their channel (by a server of a version before jobs knew
    it) their message's channel; how many."""
    return await tx.execute(
        "UPDATE delivery_jobs SET channel_id = (SELECT m.channel_id FROM messages m"
        " WHERE m.id = delivery_jobs.message_id) WHERE channel_id IS NULL"
    )


async def claim(
    conn: Connection, *, owner: str, now_ms: int, lease_ms: int, quotas: dict[int, int]
) -> list[int]:
    """Lease to ``owner`` up to ``quotas[channel]`` due jobs of each channel, oldest first:
    unleased ones and those whose lease ran out."""
    if not quotas:
        return []
    lock = sql.skip_locked(conn.dialect)
    picks = " UNION ALL ".join(
        f"SELECT id FROM (SELECT id FROM delivery_jobs WHERE channel_id = ? AND {_DUE}"
        f" ORDER BY run_at, id LIMIT ?{lock}) q{i}"
        for i in range(len(quotas))
    )
    args: list[int] = []
    for channel_id, n in quotas.items():
        args += [channel_id, now_ms, now_ms, n]
    rows = await conn.fetch_all(
        "UPDATE delivery_jobs SET lease_owner = ?, lease_until = ?, attempts = attempts + 1"
        f" WHERE id IN ({picks}) RETURNING id",
        owner,
        now_ms + lease_ms,
        *args,
    )
    return [r[0] for r in rows]


async def due(
    conn: Connection,
    *,
    now_ms: int,
    skip: Sequence[int] = (),
    drivers: Collection[str] | None = None,
) -> bool:
    """Whether a job is ready to be claimed on a channel not in ``skip`` (channels this
    worker cannot take more of now), and when ``drivers`` are given, on a channel of one of
    them: a read, so an idle worker polls without taking the writer."""
    where = "j.run_at <= ? AND (j.lease_until IS NULL OR j.lease_until <= ?)"
    args: list[Any] = [now_ms, now_ms]
    if skip:
        where += f" AND j.channel_id NOT IN ({', '.join('?' * len(skip))})"
        args += skip
    if drivers is not None:
        if not drivers:
            return False
        where += (
            " AND j.channel_id IN (SELECT ch.id FROM channels ch"
            f" WHERE ch.driver IN ({', '.join('?' * len(drivers))}))"
        )
        args += sorted(drivers)
    return (
        await conn.fetch_val(f"SELECT 1 FROM delivery_jobs j WHERE {where} LIMIT 1", *args)
        is not None
    )


async def jobs_for(conn: Connection, owner: str, *, job_ids: Sequence[int]) -> list[Row]:
    """What a driver needs for each leased job: message, channel and the contact's address."""
    if not job_ids:
        return []
    marks = ", ".join("?" * len(job_ids))
    return await conn.fetch_all(
        "SELECT j.id AS job_id, j.attempts, j.queued_ms, m.id AS message_id, m.workspace_id, m.contact_id,"
        " m.channel_id, m.type, m.content, m.created_at, ch.driver, ch.source, ch.settings,"
        " cc.address"
        " FROM delivery_jobs j JOIN messages m ON m.id = j.message_id"
        " JOIN channels ch ON ch.id = m.channel_id"
        " LEFT JOIN contact_channels cc ON cc.contact_id = m.contact_id"
        " AND cc.channel_id = m.channel_id"
        f" WHERE j.lease_owner = ? AND j.id IN ({marks}) ORDER BY j.id",
        owner,
        *job_ids,
    )


async def finish_many(conn: Connection, owner: str, *, job_ids: Sequence[int]) -> set[int]:
    """Drop the jobs this owner still holds; the ids dropped (a job missing from them had its
    lease taken over by another worker)."""
    if not job_ids:
        return set()
    marks = ", ".join("?" * len(job_ids))
    rows = await conn.fetch_all(
        f"DELETE FROM delivery_jobs WHERE lease_owner = ? AND id IN ({marks}) RETURNING id",
        owner,
        *job_ids,
    )
    return {r[0] for r in rows}


async def retry(conn: Connection, job_id: int, *, owner: str, run_at_ms: int, error: str) -> bool:
    """Give a job back for another attempt at ``run_at_ms``."""
    return (
        await conn.execute(
            "UPDATE delivery_jobs SET lease_owner = NULL, lease_until = NULL, run_at = ?,"
            " last_error = ? WHERE id = ? AND lease_owner = ?",
            run_at_ms,
            error[:1000],
            job_id,
            owner,
        )
        > 0
    )


async def release(conn: Connection, owner: str) -> int:
    """Return every lease ``owner`` holds (shutdown), so other workers take them at once."""
    return await conn.execute(
        "UPDATE delivery_jobs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?",
        owner,
    )


async def cancel_for_message(sc: Scope[Connection], message_id: int) -> bool:
    """Drop the message's delivery job, whoever holds it; False when there was none."""
    deleted = await sc.conn.execute(
        "DELETE FROM delivery_jobs WHERE message_id = ? AND workspace_id = ?", message_id, sc.ws
    )
    return deleted > 0


async def queue_stats(conn: Connection) -> tuple[int, int | None]:
    """Jobs waiting (due, leased or backing off) and when the oldest was queued (ms)."""
    row = await conn.fetch_one("SELECT COUNT(*), MIN(queued_ms) FROM delivery_jobs")
    return (int(row[0]), row[1]) if row is not None else (0, None)
