"""SQL of the console's overview: counts over one workspace's messages and queues."""

from __future__ import annotations

from openrespond.db import Connection, Row, Scope

__all__ = [
    "api_counts",
    "delivery_queue",
    "message_counts",
    "recent_addresses",
    "recent_outgoing",
    "sandbox_channels",
    "webhook_counts",
]


async def message_counts(sc: Scope[Connection], *, since_s: int) -> list[Row]:
    """Messages since ``since_s`` by traffic, and how many outgoing ones failed."""
    return await sc.conn.fetch_all(
        "SELECT traffic, count(*) AS n,"
        " sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed"
        " FROM messages WHERE workspace_id = ? AND created_at >= ? GROUP BY traffic",
        sc.ws,
        since_s,
    )


async def delivery_queue(sc: Scope[Connection]) -> Row | None:
    """Outgoing messages waiting for their driver: how many, and the oldest's queue time."""
    return await sc.conn.fetch_one(
        "SELECT count(*) AS n, min(queued_ms) AS oldest_ms,"
        " sum(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS retrying"
        " FROM delivery_jobs WHERE workspace_id = ?",
        sc.ws,
    )


async def webhook_counts(sc: Scope[Connection], *, since_ms: int) -> Row | None:
    """Webhook deliveries pending (and the oldest's queue time), retrying, and failed since
    ``since_ms``."""
    return await sc.conn.fetch_one(
        "SELECT sum(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending,"
        " min(CASE WHEN status = 'pending' THEN queued_ms END) AS oldest_ms,"
        " sum(CASE WHEN status = 'pending' AND attempts > 0 THEN 1 ELSE 0 END) AS retrying,"
        " sum(CASE WHEN status = 'failed' AND queued_ms >= ? THEN 1 ELSE 0 END) AS failed"
        " FROM webhook_deliveries WHERE workspace_id = ? AND (status = 'pending' OR queued_ms >= ?)",
        since_ms,
        sc.ws,
        since_ms,
    )


async def api_counts(sc: Scope[Connection], *, since_ms: int) -> Row | None:
    """API requests since ``since_ms``, and how many were answered 4xx and 5xx."""
    return await sc.conn.fetch_one(
        "SELECT count(*) AS n,"
        " sum(CASE WHEN status BETWEEN 400 AND 499 THEN 1 ELSE 0 END) AS client_errors,"
        " sum(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS server_errors"
        " FROM api_requests WHERE workspace_id = ? AND at_ms >= ?",
        sc.ws,
        since_ms,
    )


# The drivers whose customer side the simulator plays (the others are real providers').
_SIMULATED = "('sandbox', 'custom_channel')"


async def sandbox_channels(sc: Scope[Connection]) -> list[Row]:
    """The workspace's channels whose customer side the simulator plays."""
    return await sc.conn.fetch_all(
        f"SELECT id, name, source, driver FROM channels WHERE workspace_id = ? AND driver IN {_SIMULATED}"
        " ORDER BY id",
        sc.ws,
    )


async def recent_outgoing(sc: Scope[Connection], *, limit: int) -> list[Row]:
    """The newest outgoing messages on sandbox channels, with their contact's address there."""
    return await sc.conn.fetch_all(
        "SELECT m.id, m.contact_id, m.channel_id, m.type, m.content, m.status, m.statuses,"
        " m.created_at, c.name AS channel_name, cc.address, k.first_name, k.last_name"
        " FROM messages m JOIN channels c ON c.id = m.channel_id"
        " JOIN contacts k ON k.id = m.contact_id"
        " LEFT JOIN contact_channels cc ON cc.contact_id = m.contact_id"
        " AND cc.channel_id = m.channel_id"
        f" WHERE m.workspace_id = ? AND m.traffic = 'outgoing' AND c.driver IN {_SIMULATED}"
        " ORDER BY m.id DESC LIMIT ?",
        sc.ws,
        limit,
    )


async def recent_addresses(sc: Scope[Connection], *, limit: int) -> list[Row]:
    """Addresses of the contacts who wrote last on sandbox channels (the simulator's picks)."""
    return await sc.conn.fetch_all(
        "SELECT cc.address, cc.channel_id, k.first_name, k.last_name FROM contact_channels cc"
        " JOIN contacts k ON k.id = cc.contact_id JOIN channels c ON c.id = cc.channel_id"
        f" WHERE cc.workspace_id = ? AND c.driver IN {_SIMULATED}"
        " ORDER BY cc.last_message_time DESC, cc.id DESC LIMIT ?",
        sc.ws,
        limit,
    )
