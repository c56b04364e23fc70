"""Webhook subscriptions: create (the signing key shown once), change, delete, rotate the key,
read the delivery log, replay a delivery."""

from __future__ import annotations

import json
import uuid

import msgspec

from openrespond import common, signals
from openrespond.common import now
from openrespond.db import Connection, Row, Scope, Transaction
from openrespond.db.paging import Cursor, PageRows
from openrespond.errors import BadRequest, NotFound
from openrespond.net import Networks, check_url_destination
from openrespond.sealing import Sealer
from openrespond.space.workspaces import existing as require_workspace
from openrespond.webhooks import repository as repo
from openrespond.webhooks.schemas import (
    Attempt,
    Delivery,
    DeliveryDetail,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookUpdate,
)
from openrespond.webhooks.signing import new_key

__all__ = [
    "PURPOSE",
    "check_destination",
    "create",
    "delete",
    "deliveries",
    "delivery",
    "get",
    "list_all",
    "replay",
    "rotate",
    "send_test",
    "update",
]

PURPOSE = "webhook signing key"


async def check_destination(url: str | None, networks: Networks, *, lookup: bool = True) -> None:
    """400 when ``url`` is malformed or its host is (with ``lookup``: resolves to) an address
    ``networks`` forbids (a name that does not resolve yet is accepted; the worker checks at
    every connection). Look names up before the write transaction begins: it can take
    seconds; inside one, ``lookup=False`` checks addresses written as such."""
    if url is not None:
        await check_url_destination(url, networks, field="url", lookup=lookup)


def _events(types: list[str]) -> list[str]:
    unique = list(dict.fromkeys(types))
    return ["*"] if "*" in unique else unique


def webhook_from_row(row: Row) -> Webhook:
    return Webhook(
        id=row["id"],
        url=row["url"],
        events=json.loads(row["events"]),
        description=row["description"],
        enabled=bool(row["enabled"]),
        disabled_reason=row["disabled_reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _get(sc: Scope[Connection], hook_id: int) -> Row:
    row = await repo.get(sc, hook_id)
    if row is None:
        raise NotFound(f"webhook {hook_id} not found")
    return row


async def create(
    sc: Scope[Transaction], body: WebhookCreate, *, sealer: Sealer, networks: Networks
) -> WebhookCreated:
    await require_workspace(sc)
    await check_destination(body.url, networks, lookup=False)
    url = body.url
    key = body.signing_key or new_key()
    hook_id = await repo.insert(
        sc,
        url=url,
        events=_events(list(body.events)),
        secret=sealer.seal(key, purpose=PURPOSE),
        description=body.description,
        enabled=body.enabled,
        now=now(),
    )
    hook = webhook_from_row(await _get(sc, hook_id))
    return WebhookCreated(**msgspec.structs.asdict(hook), signing_key=key)


async def get(sc: Scope[Connection], hook_id: int) -> Webhook:
    return webhook_from_row(await _get(sc, hook_id))


async def list_all(sc: Scope[Connection]) -> list[Webhook]:
    await require_workspace(sc)
    return [webhook_from_row(r) for r in await repo.list_all(sc)]


async def update(
    sc: Scope[Transaction], hook_id: int, *, body: WebhookUpdate, networks: Networks
) -> Webhook:
    await _get(sc, hook_id)
    cols: dict[str, object] = {}
    if body.url is not None:
        await check_destination(body.url, networks, lookup=False)
        cols["url"] = body.url
    if body.events is not None:
        cols["events"] = json.dumps(_events(list(body.events)))
    if body.description is not None:
        cols["description"] = body.description or None
    if body.enabled is not None:
        cols["enabled"] = int(body.enabled)
        if body.enabled:
            cols["disabled_reason"] = None
        else:
            cols["disabled_reason"] = "disabled by its owner"
    if cols:
        await repo.update(sc, hook_id, cols=cols, now=now())
    return await get(sc, hook_id)


async def rotate(sc: Scope[Transaction], hook_id: int, *, sealer: Sealer) -> WebhookCreated:
    """A new signing key, used from the next attempt on; shown this once."""
    await _get(sc, hook_id)
    key = new_key()
    await repo.update(sc, hook_id, cols={"secret": sealer.seal(key, purpose=PURPOSE)}, now=now())
    hook = await get(sc, hook_id)
    return WebhookCreated(**msgspec.structs.asdict(hook), signing_key=key)


async def delete(sc: Scope[Transaction], hook_id: int) -> None:
    if not await repo.delete(sc, hook_id):
        raise NotFound(f"webhook {hook_id} not found")


def _delivery(row: Row) -> Delivery:
    return Delivery(
        id=row["id"],
        webhook_id=row["webhook_id"],
        event_id=row["uid"],
        event_type=row["type"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_ms=row["run_at"] if row["status"] == "pending" else None,
        last_status_code=row["last_status"],
        last_error=row["last_error"],
        queued_ms=row["queued_ms"],
        delivered_ms=row["delivered_ms"],
    )


_STATUSES = ("pending", "delivered", "failed")


async def deliveries(
    sc: Scope[Connection], hook_id: int, *, cursor: Cursor, status: str | None
) -> tuple[list[Delivery], PageRows]:
    await _get(sc, hook_id)
    if status is not None and status not in _STATUSES:
        raise BadRequest(f"status must be one of {', '.join(_STATUSES)}, got {status[:32]!r}")
    page = await repo.deliveries_page(sc, hook_id, cursor=cursor, status=status)
    return [_delivery(r) for r in page.rows], page


async def delivery(sc: Scope[Connection], hook_id: int, *, delivery_id: int) -> DeliveryDetail:
    await _get(sc, hook_id)
    row = await repo.delivery(sc, hook_id, delivery_id=delivery_id)
    if row is None:
        raise NotFound(f"delivery {delivery_id} of webhook {hook_id} not found")
    attempts = [
        Attempt(
            attempt=a["attempt"],
            started_ms=a["started_ms"],
            latency_ms=a["latency_ms"],
            status_code=a["status_code"],
            error=a["error"],
            worker=a["worker"],
            request_headers=json.loads(a["request_headers"]) if a["request_headers"] else None,
            response_excerpt=a["response_excerpt"],
        )
        for a in await repo.delivery_attempts(sc, delivery_id)
    ]
    body = row["body"]
    return DeliveryDetail(
        **msgspec.structs.asdict(_delivery(row)),
        attempt_log=attempts,
        payload=msgspec.Raw(body.encode() if isinstance(body, str) else body),
    )


async def replay(sc: Scope[Transaction], hook_id: int, *, delivery_id: int) -> DeliveryDetail:
    """Send the event again now, whatever became of it; the webhook-id stays the same, so a
    receiver that already has it can tell."""
    await _get(sc, hook_id)
    if not await repo.replay(sc, hook_id, delivery_id=delivery_id, now_ms=common.now_ms()):
        raise NotFound(f"delivery {delivery_id} of webhook {hook_id} not found")
    sc.conn.announce(signals.events)
    return await delivery(sc, hook_id, delivery_id=delivery_id)


async def send_test(sc: Scope[Transaction], hook_id: int) -> DeliveryDetail:
    """Post a ``webhook.test`` event to this subscription only (enabled or not), signed like
    every event, through the queue: its attempts show in the delivery log."""
    hook = await _get(sc, hook_id)
    uid = f"evt_{uuid.uuid4().hex}"
    now_ms = common.now_ms()
    body = msgspec.json.encode(
        {
            "event_id": uid,
            "event_type": repo.TEST_EVENT,
            "timestamp": now_ms // 1000,
            "contact": None,
            "message": f"A test event for webhook {hook_id} ({hook['url']}).",
        }
    )
    delivery_id = await repo.insert_test_event(sc, hook_id, uid=uid, body=body, now_ms=now_ms)
    sc.conn.announce(signals.events)
    return await delivery(sc, hook_id, delivery_id=delivery_id)
