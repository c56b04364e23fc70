"""``Idempotency-Key``: the first answer is stored per workspace and key and replayed."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from openrespond import common
from openrespond.db import Connection, Database, sql
from openrespond.errors import BadRequest, Conflict, Unprocessable

__all__ = ["Claim", "Replay", "claim", "record", "release"]

STALE_SECONDS = 60
_MAX_KEY = 255


@dataclass(frozen=True, slots=True)
class Replay:
    """A stored answer to send again."""

    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class Claim:
    """This request owns ``key`` until it records an answer."""

    workspace_id: int
    key: str


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    h = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


async def claim(
    db: Database, *, workspace_id: int, key: str, fingerprint: str, ttl: int
) -> Claim | Replay:
    """Take ``key`` for this request, or return the stored answer; 409/422 per the contract."""
    if not 0 < len(key) <= _MAX_KEY or not key.isascii() or not key.isprintable():
        raise BadRequest(f"Idempotency-Key must be 1-{_MAX_KEY} printable ASCII characters")
    now = common.now()
    async with db.transaction() as tx:
        if random.random() < 0.01:
            await tx.execute("DELETE FROM idempotency_keys WHERE created_at < ?", now - ttl)
        # The insert decides between concurrent first uses of one key: the loser writes
        # nothing and then reads the winner's row, locked, so two take-overs of an expired
        # key also go one after the other. (Read again if the winner let go of it.)
        for _ in range(3):
            taken = await tx.fetch_val(
                "INSERT INTO idempotency_keys (workspace_id, key, fingerprint, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (workspace_id, key) DO NOTHING RETURNING 1",
                workspace_id,
                key,
                fingerprint,
                now,
            )
            if taken is not None:
                return Claim(workspace_id, key)
            row = await tx.fetch_one(
                "SELECT fingerprint, status, response, created_at FROM idempotency_keys"
                f" WHERE workspace_id = ? AND key = ?{sql.for_update(tx.dialect)}",
                workspace_id,
                key,
            )
            if row is not None:
                break
        else:
            raise Conflict("a request with this Idempotency-Key is still in progress")
        expired = row["created_at"] < now - ttl
        stale = row["status"] is None and row["created_at"] < now - STALE_SECONDS
        if not (expired or stale):
            if row["fingerprint"] != fingerprint:
                raise Unprocessable(
                    "Idempotency-Key was already used with a different method, path or body"
                )
            if row["status"] is None:
                raise Conflict("a request with this Idempotency-Key is still in progress")
            return Replay(row["status"], bytes(row["response"]))
        await tx.execute(
            "UPDATE idempotency_keys SET fingerprint = ?, status = NULL, response = NULL,"
            " created_at = ? WHERE workspace_id = ? AND key = ?",
            fingerprint,
            now,
            workspace_id,
            key,
        )
    return Claim(workspace_id, key)


async def record(conn: Connection, c: Claim, *, status: int, body: bytes) -> None:
    """Store the answer (inside the request's own transaction when it wrote)."""
    await conn.execute(
        "UPDATE idempotency_keys SET status = ?, response = ? WHERE workspace_id = ? AND key = ?",
        status,
        body,
        c.workspace_id,
        c.key,
    )


async def release(db: Database, c: Claim) -> None:
    """Forget the key (a server error or a throttled call may be retried for real)."""
    async with db.transaction() as tx:
        await tx.execute(
            "DELETE FROM idempotency_keys WHERE workspace_id = ? AND key = ? AND status IS NULL",
            c.workspace_id,
            c.key,
        )
