"""The workspace's API request log under ``/control/workspaces/{wid}/requests``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request
from litestar.params import QueryParameter

from openrespond.apilog import service
from openrespond.apilog.service import ApiRequest
from openrespond.common import Pagination
from openrespond.db.paging import parse_cursor
from openrespond.http.context import reading
from openrespond.http.pagination import page_links
from openrespond.http.routing import CursorId, Limit, PathId, get

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]
R = "/control/workspaces/{wid:int}/requests"
T = ["Request log"]


StatusClass = Annotated[
    Literal["2xx", "3xx", "4xx", "5xx", "errors"] | None,
    QueryParameter(description="Only answers of this class (errors: 4xx and 5xx)", required=False),
]
Route = Annotated[
    str | None,
    QueryParameter(
        description="Only this route template, e.g. /v2/contact/{identifier}",
        required=False,
        pattern=r"^/v2/[^\x00]{0,196}$",
    ),
]
TokenId = Annotated[
    int | None,
    QueryParameter(
        description="Only requests made with this token (its id)",
        required=False,
        ge=1,
        le=2**53 - 1,
    ),
]
Since = Annotated[
    int | None,
    QueryParameter(
        description="From this time on, in milliseconds since the epoch",
        required=False,
        ge=1,
        le=2**53 - 1,
    ),
]
Until = Annotated[
    int | None,
    QueryParameter(
        description="Up to this time, in milliseconds since the epoch",
        required=False,
        ge=1,
        le=2**53 - 1,
    ),
]


class ApiRequestPage(msgspec.Struct):
    items: list[ApiRequest]
    pagination: Pagination


@get(
    R,
    tags=T,
    operation_id="controlListRequests",
    summary="The workspace's /v2 requests, newest first, with filters",
)
async def list_requests(
    request: Req,
    wid: PathId,
    status: StatusClass = None,
    route: Route = None,
    token: TokenId = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = None,
    cursorId: CursorId = None,
) -> ApiRequestPage:
    f = service.parse_filter(
        status=status,
        route=route,
        token=token,
        since=None if since is None else str(since),
        until=None if until is None else str(until),
    )
    cur = parse_cursor(limit, cursorId)
    items, page = await service.list_requests(reading(request), f, cursor=cur)
    return ApiRequestPage(items=items, pagination=page_links(request, page, cur.limit))


@get(
    R + "/{requestId:int}",
    tags=T,
    operation_id="controlGetRequest",
    summary="One request, with its bodies when it failed (secrets redacted)",
)
async def get_request(request: Req, wid: PathId, requestId: PathId) -> ApiRequest:
    return await service.get_request(reading(request), requestId)


ROUTES = [list_requests, get_request]
