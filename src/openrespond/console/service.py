"""The workspace overview: today's traffic, failures and the queues' depth and age — the
figures the Prometheus metrics hold for the whole server, per workspace and without
Prometheus. "Today" is since midnight UTC."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from openrespond import common
from openrespond.console import repository as repo
from openrespond.db import Connection, Scope

__all__ = ["NEXT", "Outgoing", "Overview", "overview", "simulator"]


@dataclass(frozen=True, slots=True)
class Overview:
    since_ms: int
    messages_in: int
    messages_out: int
    delivery_failures: int
    delivery_queue: int
    delivery_retrying: int
    delivery_oldest_s: float | None
    webhook_pending: int
    webhook_retrying: int
    webhook_oldest_s: float | None
    webhook_failures: int
    api_requests: int
    api_client_errors: int
    api_server_errors: int


def _age(now_ms: int, oldest_ms: int | None) -> float | None:
    return None if oldest_ms is None else max(0.0, (now_ms - oldest_ms) / 1000)


async def overview(sc: Scope[Connection]) -> Overview:
    now_ms = common.now_ms()
    midnight = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    since_ms = int(midnight.timestamp() * 1000)
    by_traffic = {r["traffic"]: r for r in await repo.message_counts(sc, since_s=since_ms // 1000)}
    queue = await repo.delivery_queue(sc)
    hooks = await repo.webhook_counts(sc, since_ms=since_ms)
    api = await repo.api_counts(sc, since_ms=since_ms)

    def n(row: object, key: str) -> int:
        return int((row[key] if row is not None else 0) or 0)  # type: ignore[index]

    return Overview(
        since_ms=since_ms,
        messages_in=n(by_traffic.get("incoming"), "n"),
        messages_out=n(by_traffic.get("outgoing"), "n"),
        delivery_failures=n(by_traffic.get("outgoing"), "failed"),
        delivery_queue=n(queue, "n"),
        delivery_retrying=n(queue, "retrying"),
        delivery_oldest_s=_age(now_ms, queue["oldest_ms"] if queue else None),
        webhook_pending=n(hooks, "pending"),
        webhook_retrying=n(hooks, "retrying"),
        webhook_oldest_s=_age(now_ms, hooks["oldest_ms"] if hooks else None),
        webhook_failures=n(hooks, "failed"),
        api_requests=n(api, "n"),
        api_client_errors=n(api, "client_errors"),
        api_server_errors=n(api, "server_errors"),
    )


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An outgoing message on a sandbox channel, and the statuses it may still be given."""

    id: int
    contact_id: int
    contact_name: str
    channel_id: int
    channel_name: str
    address: str | None
    type: str
    content: dict[str, Any]
    status: str
    reason: str | None
    created_at: int
    next_statuses: tuple[str, ...]


# What may follow each status on a channel (the sandbox service enforces the same order).
NEXT = {
    "pending": ("failed",),
    "sent": ("delivered", "read", "failed"),
    "delivered": ("read", "failed"),
    "read": (),
    "failed": (),
}


async def simulator(sc: Scope[Connection], *, limit: int = 30) -> dict[str, Any]:
    """What the customer simulator shows: the sandbox channels, recent addresses to write
    from, and the newest outgoing messages with the statuses each may still get."""
    outgoing = []
    for r in await repo.recent_outgoing(sc, limit=limit):
        statuses = json.loads(r["statuses"] or "[]")
        last = statuses[-1] if statuses else {}
        status = r["status"] or "pending"
        outgoing.append(
            Outgoing(
                id=r["id"],
                contact_id=r["contact_id"],
                contact_name=" ".join(p for p in (r["first_name"], r["last_name"]) if p),
                channel_id=r["channel_id"],
                channel_name=r["channel_name"],
                address=r["address"],
                type=r["type"],
                content=json.loads(r["content"]),
                status=status,
                reason=last.get("message") if status == "failed" else None,
                created_at=r["created_at"],
                next_statuses=NEXT.get(status, ()),
            )
        )
    return {
        "channels": await repo.sandbox_channels(sc),
        "addresses": await repo.recent_addresses(sc, limit=50),
        "outgoing": outgoing,
    }
