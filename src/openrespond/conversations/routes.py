"""Conversation and comment routes (collection and official forms)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.params import JSONBody

from openrespond.contacts.schemas import ContactId
from openrespond.conversations import service
from openrespond.conversations.schemas import (
    AssigneeBody,
    CommentBody,
    CommentCreated,
    ConversationStatusBody,
)
from openrespond.http.context import writing
from openrespond.http.routing import ContactIdentifier, post
from openrespond.identifiers import parse_identifier

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]
T = ["Conversations"]


async def _status(request: Req, identifier: str, data: ConversationStatusBody) -> ContactId:
    ident = parse_identifier(identifier)
    sc = await writing(request)
    return ContactId(await service.set_status(sc, ident, body=data))


@post(
    "/contact/{identifier:str}/conversation/status",
    tags=T,
    operation_id="updateConversationStatus",
    summary="Open or close the contact's conversation",
)
async def conversation_status(
    request: Req, identifier: ContactIdentifier, data: JSONBody[ConversationStatusBody]
) -> ContactId:
    return await _status(request, identifier, data)


@post(
    "/contact/{identifier:str}/conversation",
    tags=T,
    operation_id="updateConversationStatusCollection",
    summary="Open or close the contact's conversation (collection path)",
)
async def conversation(
    request: Req, identifier: ContactIdentifier, data: JSONBody[ConversationStatusBody]
) -> ContactId:
    return await _status(request, identifier, data)


@post(
    "/contact/{identifier:str}/conversation/assignee",
    tags=T,
    operation_id="assignConversation",
    summary="Assign the conversation to a user, or unassign it",
)
async def assign(
    request: Req, identifier: ContactIdentifier, data: JSONBody[AssigneeBody]
) -> ContactId:
    ident = parse_identifier(identifier)
    sc = await writing(request)
    return ContactId(await service.assign(sc, ident, body=data))


@post(
    "/contact/{identifier:str}/comment",
    tags=T,
    operation_id="createComment",
    summary="Add an internal comment; mentions {{@user.<id>}} or @[<email>]",
)
async def comment(
    request: Req, identifier: ContactIdentifier, data: JSONBody[CommentBody]
) -> CommentCreated:
    ident = parse_identifier(identifier)
    sc = await writing(request)
    contact_id, text, created_at = await service.add_comment(sc, ident, body=data)
    return CommentCreated(contact_id=contact_id, text=text, created_at=created_at)


ROUTES = [conversation_status, conversation, assign, comment]
