"""Message rules: which channel, whether it can carry the message, linking, and history."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import msgspec

from openrespond import common, metrics
from openrespond.channels import delivery_queue, whatsapp
from openrespond.channels.capabilities import Capabilities, channel_capabilities
from openrespond.contacts import repository as contacts_repo
from openrespond.contacts import service as contacts
from openrespond.contacts.schemas import ContactCreate
from openrespond.conversations import service as conversations
from openrespond.db import Connection, Row, Scope, Transaction, sql
from openrespond.db.paging import Cursor, PageRows
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.identifiers import Identifier
from openrespond.messages import events
from openrespond.messages import repository as repo
from openrespond.messages.schemas import (
    AttachmentMessage,
    ContactProfile,
    CustomPayloadMessage,
    EmailMessage,
    Message,
    MessageRecord,
    MessageStatus,
    QuickReplyMessage,
    TextMessage,
    WhatsappTemplateMessage,
    record_from_row,
)
from openrespond.space import channels as space_channels
from openrespond.space import templates as space_templates
from openrespond.validation import clean, normalize_email, normalize_phone

__all__ = [
    "get_message",
    "list_messages",
    "message_type",
    "receive",
    "send",
]

MAX_PAYLOAD_BYTES = 64 * 1024
WINDOW_SECONDS = 24 * 3600
# Where WhatsApp's customer-service window is enforced on send.
_WINDOW_DRIVERS = ("whatsapp_cloud",)


def message_type(message: Message) -> str:
    """The wire ``type`` of a message object."""
    tag = type(message).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


async def _check_content(
    sc: Scope[Connection], channel: Row, caps: Capabilities, message: Message, contact_id: int
) -> Message:
    """400 naming the field when ``channel`` cannot carry ``message``; the message as stored."""
    message = _without_empty_names(message)
    kind = message_type(message)
    where = f"channel {channel['id']} ({channel['source']})"
    if kind not in caps.types:
        raise BadRequest(
            f"message.type: {where} cannot carry {kind} messages"
            f" (it takes {', '.join(sorted(caps.types))})"
        )
    if isinstance(message, EmailMessage):
        body = message.text if message.text is not None else message.message
        if body is None or not clean(body):
            raise BadRequest("message.text: an email needs a body (text, or message)")
        if message.text is None:
            message = msgspec.structs.replace(message, text=body)
        if message.reply_to_message_id is not None and (
            await repo.get(sc, contact_id, message_id=message.reply_to_message_id) is None
        ):
            raise BadRequest(
                f"message.replyToMessageId: no message {message.reply_to_message_id}"
                " of this contact"
            )
        text = body
    elif isinstance(message, TextMessage):
        text = message.text
        if not clean(text):
            raise BadRequest("message.text must not be blank")
    elif isinstance(message, QuickReplyMessage):
        text = message.title
    else:
        text = ""
    if len(text) > caps.max_text:
        raise BadRequest(
            f"message.text: {len(text)} characters; {where} takes at most {caps.max_text}"
        )
    if (
        isinstance(message, CustomPayloadMessage)
        and len(msgspec.json.encode(message.payload)) > MAX_PAYLOAD_BYTES
    ):
        raise BadRequest(f"message.payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    if channel["driver"] == "whatsapp_cloud" and (problem := whatsapp.check_outgoing(message)):
        raise BadRequest(problem)
    if isinstance(message, WhatsappTemplateMessage):
        t = message.template
        if not await space_templates.has_approved_template(
            sc, channel["id"], name=t.name, language_code=t.language_code
        ):
            raise BadRequest(
                f"message.template: no approved template {t.name[:64]!r} in language"
                f" {t.language_code!r} on {where}"
            )
    return message


def _without_empty_names(message: Message) -> Message:
    """An empty attachment ``fileName`` is no name."""
    if isinstance(message, AttachmentMessage) and message.attachment.file_name == "":
        return msgspec.structs.replace(
            message, attachment=msgspec.structs.replace(message.attachment, file_name=None)
        )
    if isinstance(message, EmailMessage) and message.attachments:
        named = [
            msgspec.structs.replace(a, file_name=None) if a.file_name == "" else a
            for a in message.attachments
        ]
        return msgspec.structs.replace(message, attachments=named)
    return message


def _window_applies(channel: Row) -> bool:
    """Whether sends on ``channel`` keep to the 24-hour customer-service window: WhatsApp
    drivers always, a sandbox channel when its settings ask it to emulate one."""
    if channel["driver"] in _WINDOW_DRIVERS:
        return True
    if channel["driver"] == "twilio" and channel["source"] == "twilio_whatsapp":
        return True
    if channel["driver"] == "sandbox" and channel["settings"]:
        return bool(json.loads(channel["settings"]).get("customerServiceWindow"))
    return False


def _address_of(caps: Capabilities, contact: Row) -> str | None:
    if caps.addressing == "phone":
        return str(contact["phone"]) if contact["phone"] else None
    if caps.addressing == "email":
        return str(contact["email"]) if contact["email"] else None
    return None


async def send(
    sc: Scope[Transaction],
    ident: Identifier,
    *,
    channel_id: int | None,
    message: Message,
    user_id: int | None = None,
) -> int:
    """Store an outgoing message (sent by ``user_id`` in the app, else by the API) as
    ``pending`` with its delivery job; its id."""
    contact = await contacts.lock(sc, ident)
    contact_id: int = contact["id"]
    if channel_id is None:
        channel_id = await repo.last_interacted_channel(sc, contact_id)
        if channel_id is None:
            raise BadRequest(
                f"channelId: contact {contact_id} has no channel yet; name one with channelId"
            )
    channel = await space_channels.get_channel(sc, channel_id)
    caps = channel_capabilities(channel)
    message = await _check_content(sc, channel, caps, message, contact_id)
    at_ms = common.now_ms()
    at = at_ms // 1000
    link = await repo.channel_link(sc, contact_id, channel_id=channel_id)
    if _window_applies(channel) and not isinstance(message, WhatsappTemplateMessage):
        last = link["last_incoming_message_time"] if link is not None else None
        if last is None or last < at - WINDOW_SECONDS:
            raise BadRequest(
                f"message.type: contact {contact_id} has not written on channel {channel_id}"
                " in the last 24 hours, and WhatsApp's customer-service window allows only"
                " approved templates (whatsapp_template) outside it"
            )
    if link is None:
        address = _address_of(caps, contact)
        if address is None:
            where = f"channel {channel_id} ({channel['source']})"
            if caps.addressing == "platform":
                raise BadRequest(
                    f"channelId: contact {contact_id} is not linked to {where}; contacts of"
                    " this source link themselves by writing first"
                )
            raise BadRequest(
                f"channelId: contact {contact_id} has no {caps.addressing} to reach it on {where}"
            )
        await repo.link(sc, contact_id=contact_id, channel_id=channel_id, address=address, now=at)
    message_id = await repo.insert(
        sc,
        contact_id=contact_id,
        channel_id=channel_id,
        traffic="outgoing",
        type_=message_type(message),
        content=msgspec.json.encode(message),
        statuses=msgspec.json.encode([MessageStatus.at("pending", at_ms)]),
        status="pending",
        sender_source="api" if user_id is None else "user",
        sender_user_id=user_id,
        channel_message_id=None,
        now=at,
    )
    await delivery_queue.enqueue(sc, message_id, channel_id=channel_id, run_at_ms=at_ms)
    metrics.count_on_commit(
        sc.conn, metrics.MESSAGES.labels(channel["source"], channel["driver"], "queued")
    )
    await repo.touch_link(sc, contact_id=contact_id, channel_id=channel_id, now=at, incoming=False)
    await conversations.record_message(sc, contact_id, message_id=message_id, incoming=False, at=at)
    return message_id


async def get_message(
    sc: Scope[Connection], ident: Identifier, *, message_id: int
) -> MessageRecord:
    contact_id = await contacts.resolve(sc, ident)
    row = await repo.get(sc, contact_id, message_id=message_id)
    if row is None:
        raise NotFound(f"message {message_id} not found for contact {ident}")
    return record_from_row(row)


async def list_messages(
    sc: Scope[Connection], ident: Identifier, *, cursor: Cursor, channel_id: int | None = None
) -> tuple[list[MessageRecord], PageRows]:
    contact_id = await contacts.resolve(sc, ident)
    page = await repo.page(sc, contact_id, cursor=cursor, channel_id=channel_id)
    return [record_from_row(r) for r in page.rows], page


def _normalize_address(caps: Capabilities, address: str) -> str:
    if caps.addressing == "phone":
        return normalize_phone(address, field="address")
    if caps.addressing == "email":
        return normalize_email(address, field="address")
    text = clean(address)
    if not 1 <= len(text) <= 255:
        raise BadRequest("address must be 1-255 characters")
    return text


async def receive(
    sc: Scope[Transaction],
    *,
    channel_id: int,
    address: str,
    message: Message,
    profile: ContactProfile | None = None,
    channel_message_id: str | None = None,
    echo: bool = False,
    external_id: str | None = None,
    at_ms: int | None = None,
    from_provider: bool = False,
) -> tuple[int, int]:
    """An incoming message from ``address`` on a channel, as respond.io records one: the
    contact is found by its link or its phone/email, else created; linked; its conversation
    opened. Returns (contactId, messageId).

    An ``echo`` is the opposite direction: a message the business sent to ``address`` from
    outside openrespond (reported by the channel). It is recorded as outgoing and ``sent``.

    ``external_id`` is the sender's other id on the channel (WhatsApp's user id of a sender
    known by phone); a WhatsApp sender known only by that id has it as ``address``. A message
    ``from_provider`` (WhatsApp, Telegram, Twilio) is stored as the provider gave it: the
    checks meant for what is sent (lengths, types) do not apply, and a sender that is not a
    phone number (an SMS short code) is kept as it is.
    """
    channel = await space_channels.get_channel(sc, channel_id)
    caps = channel_capabilities(channel)
    if caps.addressing == "phone" and whatsapp.is_user_id(address):
        caps = replace(caps, addressing="platform")  # no phone number given
    try:
        address = _normalize_address(caps, address)
    except BadRequest:
        if not (from_provider and caps.addressing == "phone"):
            raise
        caps = replace(caps, addressing="platform")  # a short code, an alphanumeric sender
        address = _normalize_address(caps, address)
    if not echo and message_type(message) in ("whatsapp_template", "facebook_template"):
        raise BadRequest("message.type: templates are sent by businesses, not received")
    contact_id = await _sender(sc, channel_id, caps, address, profile, external_id)
    if not from_provider:
        message = await _check_content(sc, channel, caps, message, contact_id)
    at_ms = min(at_ms, common.now_ms()) if at_ms else common.now_ms()
    at = at_ms // 1000
    await repo.link(
        sc,
        contact_id=contact_id,
        channel_id=channel_id,
        address=address,
        now=at,
        external_id=external_id,
    )
    message_id = await repo.insert(
        sc,
        contact_id=contact_id,
        channel_id=channel_id,
        traffic="outgoing" if echo else "incoming",
        type_=message_type(message),
        content=msgspec.json.encode(message),
        statuses=msgspec.json.encode([MessageStatus.at("sent", at_ms)]) if echo else b"[]",
        status="sent" if echo else None,
        sender_source="echo" if echo else None,
        sender_user_id=None,
        channel_message_id=channel_message_id,
        now=at,
    )
    await repo.touch_link(
        sc, contact_id=contact_id, channel_id=channel_id, now=at, incoming=not echo
    )
    await conversations.record_message(
        sc, contact_id, message_id=message_id, incoming=not echo, at=at
    )
    if not echo:
        metrics.count_on_commit(sc.conn, metrics.MESSAGES_RECEIVED.labels(channel["source"]))
    await events.emit(
        sc,
        "message.sent" if echo else "message.received",
        contact_id=contact_id,
        message_id=message_id,
    )
    return contact_id, message_id


async def _find_sender(
    sc: Scope[Transaction],
    channel_id: int,
    caps: Capabilities,
    address: str,
    external_id: str | None = None,
) -> int | None:
    contact_id = await repo.contact_for_address(sc, channel_id, address=address)
    # A WhatsApp user known by phone before, now writing by user id alone, is the same
    # contact: the link keeps that id as its external id.
    other_id = external_id or (address if whatsapp.is_user_id(address) else None)
    if contact_id is None and other_id is not None:
        contact_id = await repo.contact_for_external_id(sc, channel_id, external_id=other_id)
    if contact_id is None and caps.addressing in ("phone", "email"):
        contact_id = await contacts_repo.find_id(sc, Identifier(caps.addressing, address))
    return contact_id


async def _sender(
    sc: Scope[Transaction],
    channel_id: int,
    caps: Capabilities,
    address: str,
    profile: ContactProfile | None,
    external_id: str | None = None,
) -> int:
    """The contact writing from ``address``, locked: found by its link on the channel or by
    its phone or email, else created from ``profile``. The first messages of a new contact
    arriving at once make one contact, and a message never lands on a contact that is being
    merged away or deleted (it waits, then finds the survivor or makes a new contact)."""
    fields = _profile_fields(profile)
    for _ in range(5):
        contact_id = await _find_sender(sc, channel_id, caps, address, external_id)
        if contact_id is None and caps.addressing == "platform":
            # A platform id has no unique index to decide between two first messages: one
            # request at a time per address creates the contact. (For a phone or an email,
            # the index on contacts decides.)
            await sql.lock_name(sc.conn, f"sender:{sc.ws}:{channel_id}:{address}")
            contact_id = await _find_sender(sc, channel_id, caps, address, external_id)
        if contact_id is None:
            contact_id = await _create_sender(sc, caps, address, fields)
        if contact_id is not None and await contacts_repo.lock_id(sc, contact_id) is not None:
            return contact_id
        # Gone while we waited (merged away or deleted), or another request created it
        # first: look again.
    raise Conflict(f"address: the contact of {address[:64]!r} keeps changing; retry")


def _profile_fields(profile: ContactProfile | None) -> dict[str, Any]:
    if profile is None:
        return {}
    return {
        k: v
        for k, v in msgspec.structs.asdict(profile).items()
        if v is not None and (not isinstance(v, str) or clean(v))
    }


async def _create_sender(
    sc: Scope[Transaction], caps: Capabilities, address: str, fields: dict[str, Any]
) -> int | None:
    """A new contact from the sender's profile; None when its address is taken (by a
    contact created meanwhile). A profile email or phone that belongs to another contact is
    left out rather than refusing the message."""
    fields = dict(fields)
    if caps.addressing in ("phone", "email"):
        fields[caps.addressing] = address
    first = fields.pop("first_name", None) or address
    contact = ContactCreate(first_name=first[:255], **fields)
    contact_id = await contacts.create_if_free(sc, contact)
    if contact_id is not None:
        return contact_id
    if caps.addressing in ("phone", "email") and await contacts_repo.find_id(
        sc, Identifier(caps.addressing, address)
    ):
        return None  # the address itself was taken: the caller looks again
    kept = {k: v for k, v in fields.items() if k not in ("email", "phone") or k == caps.addressing}
    return await contacts.create_if_free(sc, ContactCreate(first_name=first[:255], **kept))
