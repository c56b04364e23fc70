"""Events about messages: the message record and the channel it went through."""

from __future__ import annotations

from typing import Any

import msgspec

from openrespond import outbox
from openrespond.contacts.events import contact_doc
from openrespond.db import Connection, Row, Scope, Transaction
from openrespond.messages import repository as repo
from openrespond.messages.schemas import record_from_row

__all__ = ["ChannelInfo", "channel_info", "emit"]


class ChannelInfo(msgspec.Struct):
    """The channel a message went through, with the contact's times on it."""

    id: int
    name: str
    source: str
    meta: dict[str, Any] | None
    created_at: int
    last_message_time: int | None = msgspec.field(name="lastMessageTime")
    last_incoming_message_time: int | None = msgspec.field(name="lastIncomingMessageTime")


async def emit(
    sc: Scope[Transaction], event_type: outbox.EventName, *, contact_id: int, message_id: int
) -> str | None:
    """Queue ``event_type`` with the contact, the message and its channel."""

    async def build() -> outbox.Payload:
        contact = await contact_doc(sc, contact_id)
        row = await repo.get_in_workspace(sc, message_id)
        assert row is not None
        return outbox.Payload(
            contact=contact,
            message=record_from_row(row),
            channel=await channel_info(sc, contact_id, channel_id=row["channel_id"]),
        )

    return await outbox.emit(sc, event_type, contact_id=contact_id, build=build)


async def channel_info(sc: Scope[Connection], contact_id: int, *, channel_id: int) -> ChannelInfo:
    row: Row | None = await sc.conn.fetch_one(
        "SELECT ch.id, ch.name, ch.source, ch.created_at, cc.last_message_time,"
        " cc.last_incoming_message_time FROM channels ch"
        " LEFT JOIN contact_channels cc ON cc.channel_id = ch.id AND cc.contact_id = ?"
        " WHERE ch.workspace_id = ? AND ch.id = ?",
        contact_id,
        sc.ws,
        channel_id,
    )
    assert row is not None
    return ChannelInfo(
        id=row["id"],
        name=row["name"],
        source=row["source"],
        meta=None,
        created_at=row["created_at"],
        last_message_time=row["last_message_time"],
        last_incoming_message_time=row["last_incoming_message_time"],
    )
