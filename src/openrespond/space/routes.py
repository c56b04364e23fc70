"""Read-only workspace routes: users, channels, closing notes, templates."""

from __future__ import annotations

from typing import Any

from litestar import Request

from openrespond.db.paging import parse_cursor
from openrespond.http.context import reading
from openrespond.http.pagination import page_links
from openrespond.http.routing import CursorId, Limit, PathId, get
from openrespond.space import catalogue as space_catalogue
from openrespond.space import channels as space_channels
from openrespond.space import repository as repo
from openrespond.space import templates as space_templates
from openrespond.space import users as space_users
from openrespond.space.schemas import (
    ChannelPage,
    ClosingNotePage,
    MtmAnswer,
    MtmPage,
    TemplatePage,
    User,
    UserPage,
)

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]


@get("/space/user", tags=["Workspace"], operation_id="listUsers", summary="List workspace users")
async def list_users(request: Req, limit: Limit = None, cursorId: CursorId = None) -> UserPage:
    cur = parse_cursor(limit, cursorId)
    page = await repo.page_users(reading(request), cur)
    return UserPage(
        items=[space_users.user_from_row(r) for r in page.rows],
        pagination=page_links(request, page, cur.limit),
    )


@get("/space/user/{userId:int}", tags=["Workspace"], operation_id="getUser", summary="Get a user")
async def get_user(request: Req, userId: PathId) -> User:
    return await space_users.get_user(reading(request), userId)


@get(
    "/space/channel",
    tags=["Workspace"],
    operation_id="listChannels",
    summary="List workspace channels",
)
async def list_channels(
    request: Req, limit: Limit = None, cursorId: CursorId = None
) -> ChannelPage:
    cur = parse_cursor(limit, cursorId)
    page = await repo.page_channels(reading(request), cur)
    return ChannelPage(
        items=[space_channels.channel_from_row(r) for r in page.rows],
        pagination=page_links(request, page, cur.limit),
    )


@get(
    "/space/closing_notes",
    tags=["Workspace"],
    operation_id="listClosingNotes",
    summary="List closing-note categories",
)
async def list_closing_notes(
    request: Req, limit: Limit = None, cursorId: CursorId = None
) -> ClosingNotePage:
    cur = parse_cursor(limit, cursorId)
    page = await repo.page_closing_notes(reading(request), cur)
    return ClosingNotePage(
        items=[space_catalogue.closing_note_from_row(r) for r in page.rows],
        pagination=page_links(request, page, cur.limit),
    )


@get(
    "/space/channel/{channelId:int}/template",
    tags=["Workspace"],
    operation_id="listTemplates",
    summary="List a channel's message templates",
)
async def list_templates(
    request: Req, channelId: PathId, limit: Limit = None, cursorId: CursorId = None
) -> TemplatePage:
    cur = parse_cursor(limit, cursorId)
    page = await space_templates.page_templates(reading(request), channelId, cursor=cur)
    return TemplatePage(
        items=[space_templates.template_from_row(r) for r in page.rows],
        pagination=page_links(request, page, cur.limit),
    )


@get(
    "/space/channel/{channelId:int}/mtm",
    tags=["Workspace"],
    operation_id="listWhatsappTemplates",
    summary="List a channel's WhatsApp templates as respond.io's mtm endpoint does",
)
async def list_mtm(
    request: Req, channelId: PathId, limit: Limit = None, cursorId: CursorId = None
) -> MtmPage:
    cur = parse_cursor(limit, cursorId)
    page = await space_templates.page_templates(reading(request), channelId, cursor=cur)
    return MtmPage(
        items=[space_templates.mtm_from_row(r) for r in page.rows],
        pagination=page_links(request, page, cur.limit),
    )


@get(
    "/space/mtm/{templateId:int}",
    tags=["Workspace"],
    operation_id="getWhatsappTemplate",
    summary="Get one template ({status, message, data}, as respond.io answers it)",
)
async def get_mtm(request: Req, templateId: PathId) -> MtmAnswer:
    return await space_templates.get_mtm(reading(request), templateId)


ROUTES = [
    list_users,
    get_user,
    list_channels,
    list_closing_notes,
    list_templates,
    list_mtm,
    get_mtm,
]
