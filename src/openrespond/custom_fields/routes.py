"""Custom-field routes: ``/custom_field`` (collection) and ``/space/custom_field`` (official)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.params import JSONBody

from openrespond.custom_fields import repository as repo
from openrespond.custom_fields import service
from openrespond.custom_fields.schemas import CustomField, CustomFieldCreate, CustomFieldPage
from openrespond.db.paging import parse_cursor
from openrespond.http.context import reading, writing
from openrespond.http.pagination import page_links
from openrespond.http.routing import CursorId, Limit, PathId, get, post

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]


async def _list(request: Req, limit: int | None, cursor_id: int | None) -> CustomFieldPage:
    cur = parse_cursor(limit, cursor_id)
    page = await repo.page(reading(request), cur)
    return CustomFieldPage(
        items=[service.field_from_row(r) for r in page.rows],
        pagination=page_links(request, page, cur.limit),
    )


@get(
    "/custom_field",
    tags=["Workspace"],
    operation_id="listCustomFieldsCollection",
    summary="List custom fields (collection path)",
)
async def list_fields_plain(
    request: Req, limit: Limit = None, cursorId: CursorId = None
) -> CustomFieldPage:
    return await _list(request, limit, cursorId)


@get(
    "/space/custom_field",
    tags=["Workspace"],
    operation_id="listCustomFields",
    summary="List custom fields",
)
async def list_fields(
    request: Req, limit: Limit = None, cursorId: CursorId = None
) -> CustomFieldPage:
    return await _list(request, limit, cursorId)


@get(
    "/space/custom_field/{fieldId:int}",
    tags=["Workspace"],
    operation_id="getCustomField",
    summary="Get a custom field",
)
async def get_field(request: Req, fieldId: PathId) -> CustomField:
    return await service.get_field(reading(request), fieldId)


@post(
    "/custom_field",
    tags=["Workspace"],
    operation_id="createCustomFieldCollection",
    summary="Create a custom field (collection path; either body form)",
)
async def create_field_plain(request: Req, data: JSONBody[CustomFieldCreate]) -> CustomField:
    return await service.create_field(await writing(request), data)


@post(
    "/space/custom_field",
    tags=["Workspace"],
    operation_id="createCustomField",
    summary="Create a custom field (either body form; same definition again is idempotent)",
)
async def create_field(request: Req, data: JSONBody[CustomFieldCreate]) -> CustomField:
    return await service.create_field(await writing(request), data)


ROUTES = [list_fields_plain, list_fields, get_field, create_field_plain, create_field]
