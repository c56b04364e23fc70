"""The webhook outbox: events of API.md §7, written in the transaction of the change that
caused them.

An event is stored only when an enabled subscription of the workspace wants its type: its
body — the exact bytes that are signed and posted — is built from the rows as the
transaction sees them, and one delivery per subscription is queued beside it. Nothing is
lost if the process dies after the commit: the deliveries wait in the database.

The feature that owns the data builds the payload (``contacts.events``,
``conversations.events``, ``messages.events``); this module imports none of them. The
payload is built only when somebody subscribes, so an event nobody wants costs one lookup.

Every event, and each change the webhooks have no type for (a message's status), also leaves
a small row in ``live_changes`` in the same transaction: the browser inbox follows that table,
so an open page shows only what committed, from whichever process committed it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal, get_args

import msgspec

from openrespond import common, signals
from openrespond.db import Connection, Scope, Transaction

__all__ = [
    "EVENT_NAMES",
    "EventName",
    "LiveKind",
    "Payload",
    "changed",
    "deliveries_changed",
    "emit",
    "statuses_changed",
    "subscribers",
]

# The event types of API.md §7.
EventName = Literal[
    "contact.created",
    "contact.updated",
    "contact.deleted",
    "contact.tag.updated",
    "contact.assignee.updated",
    "contact.lifecycle.updated",
    "conversation.opened",
    "conversation.closed",
    "message.received",
    "message.sent",
    "comment.created",
]
EVENT_NAMES: tuple[str, ...] = get_args(EventName)
# What the live feed carries beside the event types: changes no webhook announces.
LiveKind = EventName | Literal["message.status", "webhook.delivery", "api.request"]


class Payload(msgspec.Struct):
    """What an event carries beside its id, type and time; ``contact`` is the contact's REST
    JSON (bytes), the others are wire structs of their features."""

    contact: bytes | None
    message: Any = None
    channel: Any = None
    conversation: Any = None
    comment: Any = None


class _Envelope(msgspec.Struct, omit_defaults=True):
    event_id: str
    event_type: str
    timestamp: int
    contact: msgspec.Raw | None
    message: Any = None
    channel: Any = None
    conversation: Any = None
    comment: Any = None


_ENCODER = msgspec.json.Encoder()


_SUBSCRIBERS = "SELECT id, events FROM webhooks WHERE workspace_id = ? AND enabled = 1"
_CHANGED = (
    "INSERT INTO live_changes (workspace_id, kind, contact_id, created_ms) VALUES (?, ?, ?, ?)"
)


def _wanting(rows: list[Any], event_type: str) -> list[int]:
    return [
        r["id"] for r in rows if (types := json.loads(r["events"])) == ["*"] or event_type in types
    ]


async def subscribers(sc: Scope[Connection], event_type: str) -> list[int]:
    """Enabled subscriptions of ``ws`` that want ``event_type``."""
    return _wanting(await sc.conn.fetch_all(_SUBSCRIBERS, sc.ws), event_type)


def _changed_args(sc: Scope[Any], kind: str, contact_id: int | None) -> tuple[Any, ...]:
    return (sc.ws, kind, contact_id, common.now_ms())


async def changed(sc: Scope[Transaction], kind: LiveKind, *, contact_id: int | None) -> None:
    """Tell the open inboxes of the workspace, once this transaction commits, that
    ``contact_id`` changed (``kind`` says how)."""
    await sc.conn.execute(_CHANGED, *_changed_args(sc, kind, contact_id))
    sc.conn.announce(signals.live)


async def statuses_changed(tx: Transaction, message_ids: list[int]) -> None:
    """``changed`` for the contacts of ``message_ids`` (of any workspaces: the delivery
    worker's batches cross them), whose status histories grew."""
    if not message_ids:
        return
    marks = ", ".join("?" * len(message_ids))
    await tx.execute(
        "INSERT INTO live_changes (workspace_id, kind, contact_id, created_ms)"
        f" SELECT workspace_id, 'message.status', contact_id, ? FROM messages WHERE id IN ({marks})",
        common.now_ms(),
        *message_ids,
    )
    tx.announce(signals.live)


async def deliveries_changed(tx: Transaction, delivery_ids: list[int]) -> None:
    """Tell the open consoles that webhook deliveries ``delivery_ids`` (of any workspaces:
    the webhook worker's batches cross them) had an attempt."""
    if not delivery_ids:
        return
    marks = ", ".join("?" * len(delivery_ids))
    rows = await tx.fetch_all(
        f"SELECT DISTINCT workspace_id FROM webhook_deliveries WHERE id IN ({marks})",
        *delivery_ids,
    )
    now_ms = common.now_ms()
    await tx.execute_many(
        "INSERT INTO live_changes (workspace_id, kind, contact_id, created_ms)"
        " VALUES (?, 'webhook.delivery', NULL, ?)",
        [(r["workspace_id"], now_ms) for r in rows],
    )
    tx.announce(signals.live)


async def emit(
    sc: Scope[Transaction],
    event_type: EventName,
    *,
    contact_id: int,
    build: Callable[[], Awaitable[Payload]],
) -> str | None:
    """Queue ``event_type`` for every subscription of ``ws`` that wants it, with the payload
    ``build()`` makes; the event's id, or None when nobody subscribes (then ``build`` is not
    called). The open inboxes hear of it either way."""
    # One lookup per workspace and type in a transaction (a delivery batch emits many).
    key = ("webhook subscribers", sc.ws, event_type)
    hooks = sc.conn.memo.get(key)
    if hooks is None and sc.conn.dialect == "postgresql":
        # The live change and the lookup in one statement: one round trip, not two.
        rows = await sc.conn.fetch_all(
            f"WITH change AS ({_CHANGED}) {_SUBSCRIBERS}",
            *_changed_args(sc, event_type, contact_id),
            sc.ws,
        )
        hooks = sc.conn.memo[key] = _wanting(rows, event_type)
        sc.conn.announce(signals.live)
    else:
        await changed(sc, event_type, contact_id=contact_id)
        if hooks is None:
            hooks = sc.conn.memo[key] = await subscribers(sc, event_type)
    if not hooks:
        return None
    payload = await build()
    uid = f"evt_{uuid.uuid4().hex}"
    now_ms = common.now_ms()
    body = _ENCODER.encode(
        _Envelope(
            event_id=uid,
            event_type=event_type,
            timestamp=now_ms // 1000,
            contact=None if payload.contact is None else msgspec.Raw(payload.contact),
            message=payload.message,
            channel=payload.channel,
            conversation=payload.conversation,
            comment=payload.comment,
        )
    )
    event_id = await sc.conn.fetch_val(
        "INSERT INTO events (workspace_id, uid, type, body, created_ms) VALUES (?, ?, ?, ?, ?)"
        " RETURNING id",
        sc.ws,
        uid,
        event_type,
        body,
        now_ms,
    )
    await sc.conn.execute_many(
        "INSERT INTO webhook_deliveries (workspace_id, webhook_id, event_id, run_at, queued_ms)"
        " VALUES (?, ?, ?, ?, ?)",
        [(sc.ws, hook, event_id, now_ms, now_ms) for hook in hooks],
    )
    sc.conn.announce(signals.events)
    return uid
