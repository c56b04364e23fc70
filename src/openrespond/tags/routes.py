"""Workspace tag routes: ``/tag`` (collection) and ``/space/tag`` (official)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.params import JSONBody

from openrespond.common import StatusMessage
from openrespond.db.paging import parse_cursor
from openrespond.http.context import reading, writing
from openrespond.http.pagination import page_links
from openrespond.http.routing import CursorId, Limit, delete, get, post, put
from openrespond.tags import repository as repo
from openrespond.tags import service
from openrespond.tags.schemas import Tag, TagCreate, TagDelete, TagPage, TagUpdate

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]


@post(
    "/tag",
    tags=["Workspace"],
    operation_id="createTagCollection",
    summary="Create a workspace tag (collection path)",
)
async def create_tag_plain(request: Req, data: JSONBody[TagCreate]) -> Tag:
    return await service.create_tag(await writing(request), data)


@post(
    "/space/tag",
    tags=["Workspace"],
    operation_id="createTag",
    summary="Create a workspace tag (same tag again answers the existing one)",
)
async def create_tag(request: Req, data: JSONBody[TagCreate]) -> Tag:
    return await service.create_tag(await writing(request), data)


@put("/space/tag", tags=["Workspace"], operation_id="updateTag", summary="Update a workspace tag")
async def update_tag(request: Req, data: JSONBody[TagUpdate]) -> Tag:
    return await service.update_tag(await writing(request), data)


@delete(
    "/space/tag",
    tags=["Workspace"],
    operation_id="deleteTag",
    summary="Delete a workspace tag (and remove it from contacts)",
)
async def delete_tag(request: Req, data: JSONBody[TagDelete]) -> StatusMessage:
    await service.delete_tag(await writing(request), data.name)
    return StatusMessage(code=200, message="Tag deleted successfully")


@get("/space/tag", tags=["Workspace"], operation_id="listTags", summary="List workspace tags")
async def list_tags(request: Req, limit: Limit = None, cursorId: CursorId = None) -> TagPage:
    cur = parse_cursor(limit, cursorId)
    page = await repo.page(reading(request), cur)
    return TagPage(
        items=[service.tag_from_row(r) for r in page.rows],
        pagination=page_links(request, page, cur.limit),
    )


ROUTES = [create_tag_plain, create_tag, update_tag, delete_tag, list_tags]
