"""Message routes: send, get, list. Thin: parse, call the service, answer."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.params import JSONBody, QueryParameter

from openrespond.db import Scope, Transaction
from openrespond.db.paging import parse_cursor
from openrespond.http.context import reading, writing
from openrespond.http.direct import DirectPost
from openrespond.http.pagination import page_links
from openrespond.http.routing import (
    MAX_ID,
    ContactIdentifier,
    CursorId,
    Limit,
    PathId,
    accepts_identifier,
    get,
    post,
)
from openrespond.identifiers import parse_identifier
from openrespond.messages import service
from openrespond.messages.schemas import MessageCreated, MessagePage, MessageRecord, SendBody

__all__ = ["DIRECT_POSTS", "ROUTES"]

Req = Request[Any, Any, Any]
ChannelFilter = Annotated[
    int | None,
    QueryParameter(description="Only messages on this channel", required=False, ge=1, le=MAX_ID),
]
T = ["Messages"]


@post(
    "/contact/{identifier:str}/message",
    tags=T,
    operation_id="sendMessage",
    summary="Send a message (stored as pending, delivered asynchronously)",
)
async def send_message(
    request: Req, identifier: ContactIdentifier, data: JSONBody[SendBody]
) -> MessageCreated:
    return await _send(await writing(request), identifier, data)


async def _send(
    sc: Scope[Transaction], identifier: str | None, data: SendBody, _: object = None
) -> MessageCreated:
    assert identifier is not None  # the route's path parameter
    ident = parse_identifier(identifier)
    message_id = await service.send(sc, ident, channel_id=data.channel_id, message=data.message)
    return MessageCreated(message_id)


@get(
    "/contact/{identifier:str}/message/list",
    tags=T,
    operation_id="listMessages",
    summary="List a contact's messages, newest first",
)
async def list_messages(
    request: Req,
    identifier: ContactIdentifier,
    limit: Limit = None,
    cursorId: CursorId = None,
    channelId: ChannelFilter = None,
) -> MessagePage:
    cur = parse_cursor(limit, cursorId)
    ident = parse_identifier(identifier)
    items, page = await service.list_messages(
        reading(request), ident, cursor=cur, channel_id=channelId
    )
    return MessagePage(items=items, pagination=page_links(request, page, cur.limit))


@get(
    "/contact/{identifier:str}/message/{messageId:int}",
    tags=T,
    operation_id="getMessage",
    summary="Get a message with its status history",
)
async def get_message(
    request: Req, identifier: ContactIdentifier, messageId: PathId
) -> MessageRecord:
    ident = parse_identifier(identifier)
    return await service.get_message(reading(request), ident, message_id=messageId)


ROUTES = [send_message, list_messages, get_message]
# Served by http.direct as well (the hottest write); the route above documents it.
DIRECT_POSTS = [DirectPost("/v2/contact/{identifier}/message", SendBody, _send, accepts_identifier)]
