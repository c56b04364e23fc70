"""Sandbox actions under ``/control/workspaces/{wid}/sandbox``: for testing integrations."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.params import JSONBody

from openrespond.common import StatusMessage
from openrespond.db.paging import parse_cursor
from openrespond.http.context import reading, writing
from openrespond.http.pagination import page_links
from openrespond.http.routing import CursorId, Limit, PathId, get, post
from openrespond.messages.schemas import MessageRecord
from openrespond.sandbox import service
from openrespond.sandbox.schemas import Incoming, IncomingResult, ResetBody, SentPage, StatusBody

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]
S = "/control/workspaces/{wid:int}/sandbox"
T = ["Sandbox"]


@post(
    S + "/incoming",
    tags=T,
    operation_id="sandboxIncoming",
    summary="Simulate a message from a contact on a sandbox channel",
)
async def incoming(request: Req, wid: PathId, data: JSONBody[Incoming]) -> IncomingResult:
    contact_id, message_id = await service.receive(await writing(request), data)
    return IncomingResult(contact_id=contact_id, message_id=message_id)


@post(
    S + "/messages/{messageId:int}/status",
    tags=T,
    operation_id="sandboxSetStatus",
    summary="Report a status for an outgoing message (sent, delivered, read, failed)",
)
async def set_status(
    request: Req, wid: PathId, messageId: PathId, data: JSONBody[StatusBody]
) -> MessageRecord:
    return await service.set_status(await writing(request), messageId, body=data)


@get(
    S + "/channels/{channelId:int}/sent",
    tags=T,
    operation_id="sandboxSent",
    summary="What a sandbox channel delivered, oldest first",
)
async def sent(
    request: Req,
    wid: PathId,
    channelId: PathId,
    limit: Limit = None,
    cursorId: CursorId = None,
) -> SentPage:
    cur = parse_cursor(limit, cursorId)
    items, page = await service.sent(reading(request), channelId, cursor=cur)
    return SentPage(items=items, pagination=page_links(request, page, cur.limit))


@post(
    S + "/reset",
    tags=T,
    operation_id="sandboxReset",
    summary="Empty the workspace's data, or reset it to the demo data",
)
async def reset(
    request: Req, wid: PathId, data: JSONBody[ResetBody | None] = None
) -> StatusMessage:
    to = data.to if data is not None else "empty"
    await service.reset(await writing(request), to=to)
    return StatusMessage(code=200, message=f"Workspace reset to {to}")


ROUTES = [incoming, set_status, sent, reset]
