"""Incoming events of respond.io's Custom Channel protocol, ``POST /custom/channel/webhook/``.

A bridge posts ``{channelId, contactId, events: [...], contact?}`` with its channel's token
as the bearer token. ``message`` events are messages from the contact (the contact is
created from ``contact`` when unknown), ``message_echo`` events are messages the business
sent from elsewhere, and ``message_status`` events report what became of an outgoing
message, found by its ``mId``. Every event is idempotent on ``mId``: a bridge that retries
stores nothing twice. A request is applied whole or not at all.
"""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from openrespond import common
from openrespond.channels import settings as channel_settings
from openrespond.db import Row, Scope, Transaction
from openrespond.errors import BadRequest, Unauthorized
from openrespond.messages import repository as messages_repo
from openrespond.messages import service as messages
from openrespond.messages.schemas import ContactProfile, Message, MessageStatus
from openrespond.sealing import Sealer, SealError
from openrespond.space import repository as space_repo

__all__ = ["InboundResult", "InboundWebhook", "receive"]

MId = Annotated[str, Meta(min_length=1, max_length=255)]
Timestamp = Annotated[int, Meta(ge=0, le=2**53 - 1)]
StatusValue = Literal["sent", "delivered", "read", "failed"]


class StatusReport(msgspec.Struct):
    value: StatusValue
    message: Annotated[str, Meta(max_length=1024)] | None = None


class MessageEvent(msgspec.Struct, tag_field="type", tag="message"):
    m_id: MId = msgspec.field(name="mId")
    timestamp: Timestamp
    message: Message


class EchoEvent(msgspec.Struct, tag_field="type", tag="message_echo"):
    m_id: MId = msgspec.field(name="mId")
    timestamp: Timestamp
    message: Message


class StatusEvent(msgspec.Struct, tag_field="type", tag="message_status"):
    """``status`` is a value, or ``{value, message?}``; ``error`` is another place for a
    failure's reason."""

    m_id: MId = msgspec.field(name="mId")
    timestamp: Timestamp
    status: StatusValue | StatusReport
    error: Annotated[str, Meta(max_length=1024)] | None = None


Event = MessageEvent | EchoEvent | StatusEvent


class InboundWebhook(msgspec.Struct):
    channel_id: Annotated[str, Meta(min_length=1, max_length=32)] | int = msgspec.field(
        name="channelId"
    )
    events: Annotated[list[Event], Meta(min_length=1, max_length=100)]
    contact_id: Annotated[str, Meta(min_length=1, max_length=255)] | None = msgspec.field(
        default=None, name="contactId"
    )
    contact: ContactProfile | None = None


class EventResult(msgspec.Struct):
    m_id: str = msgspec.field(name="mId")
    type: str
    result: Literal["stored", "duplicate", "updated", "waiting"]
    message_id: int | None = msgspec.field(name="messageId")


class InboundResult(msgspec.Struct):
    code: int
    message: str
    results: list[EventResult]


# Compared against when the channel does not exist, so that an unknown channel costs what
# a wrong token does.
_NO_TOKEN = b"\x00" * 43


async def _channel(
    tx: Transaction, raw_id: str | int, token: str | None, sealer: Sealer
) -> dict[str, object]:
    """The custom channel the request names, when the token is that channel's own. A
    missing or wrong token and a channel that does not exist get the same 401, so channel
    ids cannot be discovered by trying them."""
    if not token:
        raise Unauthorized("missing bearer token: send the channel's token")
    try:
        channel_id = int(raw_id)
    except ValueError:
        raise BadRequest(f"channelId must be a channel id, got {str(raw_id)[:32]!r}") from None
    row = await space_repo.channel_anywhere(tx, channel_id)
    expected: str | None = None
    if row is not None and row["driver"] == "custom_channel":
        settings = json.loads(row["settings"] or "{}")
        try:
            expected = channel_settings.secret(settings, "custom_channel", sealer)
        except SealError:
            expected = None
    good = hmac.compare_digest(
        token.encode(), expected.encode() if expected is not None else _NO_TOKEN
    )
    if row is None or expected is None or not good:
        raise Unauthorized("the token is not the token of the channel named by channelId")
    return dict(row)


async def receive(
    tx: Transaction, body: InboundWebhook, *, token: str | None, sealer: Sealer
) -> InboundResult:
    channel = await _channel(tx, body.channel_id, token, sealer)
    channel_id, ws = int(str(channel["id"])), int(str(channel["workspace_id"]))
    results: list[EventResult] = []
    for event in body.events:
        kind = type(event).__struct_config__.tag
        # Locked when it exists: two reports for one message are applied one after the other.
        known = await messages_repo.by_channel_message(
            tx, channel_id, channel_message_id=event.m_id, for_update=True
        )
        if isinstance(event, StatusEvent):
            results.append(await _status(tx, channel_id, event, known))
            continue
        if known is not None:
            results.append(EventResult(event.m_id, str(kind), "duplicate", known["id"]))
            continue
        if body.contact_id is None:
            raise BadRequest(f"contactId is required with {kind} events")
        _, message_id = await messages.receive(
            Scope(tx, ws),
            channel_id=channel_id,
            address=body.contact_id,
            message=event.message,
            profile=body.contact,
            channel_message_id=event.m_id,
            echo=isinstance(event, EchoEvent),
        )
        results.append(EventResult(event.m_id, str(kind), "stored", message_id))
    return InboundResult(200, f"{len(results)} event(s) processed", results)


async def _status(
    tx: Transaction, channel_id: int, event: StatusEvent, known: Row | None
) -> EventResult:
    report = event.status if isinstance(event.status, StatusReport) else StatusReport(event.status)
    reason = (report.message or event.error) if report.value == "failed" else None
    timestamp = event.timestamp // 1000
    entry = msgspec.json.encode(MessageStatus.at(report.value, event.timestamp, reason))
    if known is None:
        # The send's answer with this mId may not be stored yet: applied once it is.
        await messages_repo.stash_early_status(
            tx,
            channel_id,
            channel_message_id=event.m_id,
            status=entry,
            value=report.value,
            now=common.now(),
        )
        return EventResult(event.m_id, "message_status", "waiting", None)
    if known["traffic"] != "outgoing":
        raise BadRequest(f"mId {event.m_id}: statuses are for outgoing messages")
    # Out of order or repeated: changes nothing (the status machine of every channel).
    applied = await messages_repo.report_status(
        Scope(tx, known["workspace_id"]), known, value=report.value, status=entry, now=timestamp
    )
    return EventResult(
        event.m_id, "message_status", "updated" if applied else "duplicate", known["id"]
    )
