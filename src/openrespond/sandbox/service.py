"""Sandbox actions: incoming messages, reported statuses, what was sent, resets."""

from __future__ import annotations

import msgspec

from openrespond import common
from openrespond.channels import delivery_queue, sandbox_deliveries
from openrespond.db import Connection, Scope, Transaction
from openrespond.db.paging import Cursor, PageRows
from openrespond.demo import seed_demo
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.messages import repository as messages_repo
from openrespond.messages import service as messages
from openrespond.messages import statuses
from openrespond.messages.schemas import Message, MessageRecord, MessageStatus, record_from_row
from openrespond.sandbox import repository as repo
from openrespond.sandbox.schemas import Incoming, SentMessage, StatusBody
from openrespond.space import channels as space_channels
from openrespond.space import workspaces as space_workspaces

__all__ = ["receive", "reset", "sent", "set_status"]

_MESSAGE = msgspec.json.Decoder(Message)


async def receive(sc: Scope[Transaction], body: Incoming) -> tuple[int, int]:
    """Simulate ``body.message`` arriving from ``body.address`` on a sandbox channel, or on a
    custom channel as its bridge would post it; (contactId, messageId). Channels of other
    drivers are driven by their providers."""
    await _sandbox_channel(sc, body.channel_id, drivers=_CUSTOMER_SIDE)
    return await messages.receive(
        sc,
        channel_id=body.channel_id,
        address=body.address,
        message=body.message,
        profile=body.contact,
        channel_message_id=body.channel_message_id,
    )


async def set_status(sc: Scope[Transaction], message_id: int, *, body: StatusBody) -> MessageRecord:
    """Append the status a channel reports for an outgoing message.

    Failing a message still waiting for delivery cancels its delivery; other statuses need
    the message to have been taken by its channel first.
    """
    row = await messages_repo.get_in_workspace(sc, message_id, for_update=True)
    if row is None:
        raise NotFound(f"message {message_id} not found")
    if row["traffic"] != "outgoing":
        raise BadRequest(f"message {message_id} is incoming; only outgoing messages get statuses")
    if body.reason is not None and body.status != "failed":
        raise BadRequest("reason goes only with status failed")
    statuses.check(message_id, row["status"], body.status)
    pending = (
        await delivery_queue.cancel_for_message(sc, message_id)
        if body.status == "failed"
        else False
    )
    if not pending and row["status"] == "pending":
        raise Conflict(f"message {message_id} is still waiting for delivery")
    now_ms = common.now_ms()
    now = now_ms // 1000
    entry = MessageStatus.at(body.status, now_ms, body.reason)
    await messages_repo.append_status(
        sc, message_id, status=msgspec.json.encode(entry), value=body.status, now=now
    )
    updated = await messages_repo.get_in_workspace(sc, message_id)
    assert updated is not None
    return record_from_row(updated)


async def sent(
    sc: Scope[Connection], channel_id: int, *, cursor: Cursor
) -> tuple[list[SentMessage], PageRows]:
    """What a sandbox channel delivered, oldest first."""
    await _sandbox_channel(sc, channel_id)
    page = await sandbox_deliveries.page_sent(sc, channel_id, cursor=cursor)
    items = [
        SentMessage(
            id=r["id"],
            message_id=r["message_id"],
            contact_id=r["contact_id"],
            address=r["address"],
            message=_MESSAGE.decode(r["content"]),
            worker=r["worker"],
            delivered_at=r["delivered_at"],
        )
        for r in page.rows
    ]
    return items, page


async def reset(sc: Scope[Transaction], *, to: str) -> None:
    """Empty the workspace's data; with ``to="demo"`` fill it with the demo data again."""
    await space_workspaces.existing(sc)
    await repo.empty_workspace(sc)
    if to == "demo":
        await seed_demo(sc)


# The channels whose customer side can be played here.
_CUSTOMER_SIDE = ("sandbox", "custom_channel")


async def _sandbox_channel(
    sc: Scope[Connection], channel_id: int, *, drivers: tuple[str, ...] = ("sandbox",)
) -> None:
    channel = await space_channels.get_channel(sc, channel_id)
    if channel["driver"] not in drivers:
        kinds = " or ".join(d.replace("_", " ") for d in drivers)
        raise BadRequest(f"channelId: channel {channel_id} is not a {kinds} channel")
