"""Contact routes (collection and official forms). Thin: parse, call the service, answer."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.params import FromQuery, JSONBody

from openrespond.common import StatusMessage
from openrespond.contacts import merge, service
from openrespond.contacts.schemas import (
    Contact,
    ContactChannelPage,
    ContactCreate,
    ContactCreated,
    ContactFields,
    ContactId,
    ContactListBody,
    ContactPage,
    LifecycleBody,
    MergeBody,
)
from openrespond.db import Connection, Scope, Transaction
from openrespond.db.paging import parse_cursor
from openrespond.http.context import reading, writing
from openrespond.http.direct import DirectPost, DirectRoute, HandOff
from openrespond.http.pagination import page_links, scope_page_links
from openrespond.http.routing import (
    ContactIdentifier,
    CursorId,
    Limit,
    RawJSON,
    accepts_identifier,
    delete,
    get,
    json_bytes,
    paging_query,
    post,
    put,
    raw_json,
)
from openrespond.identifiers import parse_identifier
from openrespond.tags import service as tags
from openrespond.tags.schemas import TagNames, TagsBody

__all__ = ["DIRECT_POSTS", "DIRECT_ROUTES", "ROUTES"]

Req = Request[Any, Any, Any]
_CREATED = "Contact added successfully!"


@post(
    "/contact",
    tags=["Contacts"],
    operation_id="createContactCollection",
    summary="Create a contact (identifier taken from the body)",
)
async def create_contact_plain(request: Req, data: JSONBody[ContactCreate]) -> ContactCreated:
    return await _create(await writing(request), None, data)


async def _create(
    sc: Scope[Transaction], _: str | None, data: ContactCreate, __: object = None
) -> ContactCreated:
    contact_id = await service.create_contact(sc, data)
    return ContactCreated(code="200", message=_CREATED, contact_id=contact_id)


@post(
    "/contact/{identifier:str}",
    tags=["Contacts"],
    operation_id="createContact",
    summary="Create a contact identified by email: or phone:",
)
async def create_contact(
    request: Req, identifier: ContactIdentifier, data: JSONBody[ContactCreate]
) -> ContactCreated:
    ident = parse_identifier(identifier)
    contact_id = await service.create_contact(await writing(request), data, ident=ident)
    return ContactCreated(code="200", message=_CREATED, contact_id=contact_id)


@post(
    "/contact/create_or_update/{identifier:str}",
    tags=["Contacts"],
    operation_id="createOrUpdateContact",
    summary="Create the contact or update it (firstName is needed only to create)",
)
async def create_or_update(
    request: Req, identifier: ContactIdentifier, data: JSONBody[ContactFields]
) -> ContactId:
    ident = parse_identifier(identifier)
    cid = await service.create_or_update(await writing(request), ident, fields=data)
    return ContactId(cid)


@get(
    "/contact/{identifier:str}",
    tags=["Contacts"],
    operation_id="getContact",
    summary="Get a contact",
    responses=raw_json(Contact),
)
async def get_contact(request: Req, identifier: ContactIdentifier) -> RawJSON:
    return json_bytes(await _contact_json(reading(request), identifier))


async def _contact_json(sc: Scope[Connection], identifier: str) -> bytes:
    return await service.get_contact(sc, parse_identifier(identifier))


@put(
    "/contact/{identifier:str}",
    tags=["Contacts"],
    operation_id="updateContact",
    summary="Update a contact (absent fields unchanged)",
)
async def update_contact(
    request: Req, identifier: ContactIdentifier, data: JSONBody[ContactFields]
) -> ContactId:
    ident = parse_identifier(identifier)
    cid = await service.update_contact(await writing(request), ident, fields=data)
    return ContactId(cid)


@delete(
    "/contact/{identifier:str}",
    tags=["Contacts"],
    operation_id="deleteContact",
    summary="Delete a contact",
)
async def delete_contact(request: Req, identifier: ContactIdentifier) -> ContactId:
    ident = parse_identifier(identifier)
    return ContactId(await service.delete_contact(await writing(request), ident))


async def _list(
    request: Req, body: ContactListBody | None, limit: int | None, cursor_id: int | None
) -> RawJSON:
    page = await _page(reading(request), request.scope, body, limit, cursor_id)
    return json_bytes(page)


async def _page(
    sc: Scope[Connection],
    scope: Any,
    body: ContactListBody | None,
    limit: int | None,
    cursor_id: int | None,
) -> bytes:
    cur = parse_cursor(limit, cursor_id)
    items, page = await service.list_contacts(sc, body, cursor=cur)
    settings = scope["litestar_app"].state.settings
    links = msgspec.json.encode(scope_page_links(scope, settings, page, cur.limit))
    return b'{"items":[' + b",".join(items) + b'],"pagination":' + links + b"}"


async def _page_direct(
    sc: Scope[Connection], _: str | None, body: ContactListBody | None, scope: Any
) -> bytes:
    """``_list`` for the direct layer: the paging parameters as the route declares them
    (once each, in range), anything else handed to the route."""
    paging = paging_query(scope.get("query_string", b""))
    if paging is None:
        raise HandOff
    return await _page(sc, scope, body, *paging)


@get(
    "/contact/list",
    tags=["Contacts"],
    operation_id="listContactsGet",
    summary="List contacts (optional search)",
    responses=raw_json(ContactPage),
)
async def list_contacts_get(
    request: Req,
    limit: Limit = None,
    cursorId: CursorId = None,
    search: FromQuery[str | None] = None,
) -> RawJSON:
    return await _list(request, ContactListBody(search=search) if search else None, limit, cursorId)


@post(
    "/contact/list",
    tags=["Contacts"],
    operation_id="listContacts",
    summary="List contacts with search and filters",
    responses=raw_json(ContactPage),
)
async def list_contacts_post(
    request: Req,
    data: JSONBody[ContactListBody | None] = None,
    limit: Limit = None,
    cursorId: CursorId = None,
) -> RawJSON:
    return await _list(request, data, limit, cursorId)


@post(
    "/contact/merge",
    tags=["Contacts"],
    operation_id="mergeContacts",
    summary="Merge two contacts; the primary survives",
)
async def merge_contacts(request: Req, data: JSONBody[MergeBody]) -> ContactId:
    return ContactId(await merge.merge_contacts(await writing(request), data))


async def _channels(
    request: Req, identifier: str, limit: int | None, cursor_id: int | None
) -> ContactChannelPage:
    cur = parse_cursor(limit, cursor_id)
    ident = parse_identifier(identifier)
    items, page = await service.list_channels(reading(request), ident, cursor=cur)
    return ContactChannelPage(items=items, pagination=page_links(request, page, cur.limit))


@get(
    "/contact/{identifier:str}/channels",
    tags=["Contacts"],
    operation_id="listContactChannels",
    summary="List the channels a contact is reachable on",
)
async def list_channels(
    request: Req, identifier: ContactIdentifier, limit: Limit = None, cursorId: CursorId = None
) -> ContactChannelPage:
    return await _channels(request, identifier, limit, cursorId)


@get(
    "/contact/{identifier:str}/channel",
    tags=["Contacts"],
    operation_id="listContactChannelsCollection",
    summary="List the channels a contact is reachable on (collection path)",
)
async def list_channel(
    request: Req, identifier: ContactIdentifier, limit: Limit = None, cursorId: CursorId = None
) -> ContactChannelPage:
    return await _channels(request, identifier, limit, cursorId)


@post(
    "/contact/{identifier:str}/lifecycle/update",
    tags=["Contacts"],
    operation_id="updateLifecycle",
    summary="Set or clear the contact's lifecycle stage",
)
async def update_lifecycle(
    request: Req, identifier: ContactIdentifier, data: JSONBody[LifecycleBody | None] = None
) -> StatusMessage:
    ident = parse_identifier(identifier)
    name = data.name if data is not None else None
    await service.set_lifecycle(await writing(request), ident, name=name)
    return StatusMessage(code=200, message="Success")


def _tag_names(data: list[str] | TagsBody) -> list[str]:
    return data.tags if isinstance(data, TagsBody) else data


@post(
    "/contact/{identifier:str}/tag",
    tags=["Contacts"],
    operation_id="addContactTags",
    summary="Add tags to a contact (unknown tags are created)",
)
async def add_tags(
    request: Req, identifier: ContactIdentifier, data: JSONBody[TagNames | TagsBody]
) -> ContactId:
    ident = parse_identifier(identifier)
    return ContactId(
        await tags.add_to_contact(await writing(request), ident, names=_tag_names(data))
    )


@delete(
    "/contact/{identifier:str}/tag",
    tags=["Contacts"],
    operation_id="removeContactTags",
    summary="Remove tags from a contact",
)
async def remove_tags(
    request: Req, identifier: ContactIdentifier, data: JSONBody[TagNames | TagsBody]
) -> ContactId:
    ident = parse_identifier(identifier)
    return ContactId(
        await tags.remove_from_contact(await writing(request), ident, names=_tag_names(data))
    )


ROUTES = [
    create_contact_plain,
    create_contact,
    create_or_update,
    get_contact,
    update_contact,
    delete_contact,
    list_contacts_get,
    list_contacts_post,
    merge_contacts,
    list_channels,
    list_channel,
    update_lifecycle,
    add_tags,
    remove_tags,
]
# Served by http.direct as well (the hottest read and write); the routes above document them.
DIRECT_ROUTES = [
    DirectRoute(
        prefix="/v2/contact/", param="identifier", accepts=accepts_identifier, read=_contact_json
    )
]
DIRECT_POSTS = [
    DirectPost("/v2/contact", ContactCreate, _create),
    DirectPost("/v2/contact/list", ContactListBody | None, _page_direct, writes=False),
]
