"""Route decorators with respond.io's conventions (200 for every success) and shared params."""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated
from urllib.parse import parse_qsl

import litestar
import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter, QueryParameter
from litestar.types import (
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)

__all__ = [
    "ERROR_RESPONSES",
    "MAX_ID",
    "WHOLE_NUMBER",
    "ContactIdentifier",
    "CursorId",
    "ErrorBody",
    "Limit",
    "PathId",
    "RawJSON",
    "accepts_identifier",
    "delete",
    "get",
    "paging_query",
    "post",
    "put",
]


class ErrorBody(msgspec.Struct, omit_defaults=True):
    """Every failure: the HTTP status as ``code`` and a message naming what is wrong."""

    code: int
    message: str
    contact_id: int | None = msgspec.field(name="contactId", default=None)


_ERRORS = {
    400: "Invalid input: the message names the field",
    401: "Missing, malformed, unknown or revoked bearer token",
    403: "The token may not do this",
    404: "Nothing with this identifier in the token's workspace",
    405: "Method not allowed on this path",
    409: "Conflict (duplicate, or the same Idempotency-Key still in progress)",
    413: "Request body over the limit",
    415: "Request body is not JSON",
    422: "Idempotency-Key reused with a different request",
    429: "Rate limit exceeded; see Retry-After",
    500: "Server fault",
    502: "A provider asked on the caller's behalf failed",
}
ERROR_RESPONSES = {
    status: ResponseSpec(data_container=ErrorBody, description=text, generate_examples=False)
    for status, text in _ERRORS.items()
}

get = partial(litestar.get, status_code=200, responses=ERROR_RESPONSES)


def raw_json(model: type) -> dict[int, ResponseSpec]:
    """Responses of a route that answers pre-encoded JSON shaped like ``model``."""
    return {
        **ERROR_RESPONSES,
        200: ResponseSpec(data_container=model, description="Success", generate_examples=False),
    }


class RawJSON:
    """A 200 whose JSON body was built elsewhere (by the database), sent as is.

    Routes return it as their ASGI answer, so the hottest reads skip Litestar's response
    machinery (the body needs no encoding, cookies or background tasks).
    """

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(self.body)).encode()),
            ],
        }
        body: HTTPResponseBodyEvent = {
            "type": "http.response.body",
            "body": self.body,
            "more_body": False,
        }
        await send(start)
        await send(body)


def json_bytes(body: bytes | str) -> RawJSON:
    """A 200 whose JSON body was built elsewhere (by the database)."""
    return RawJSON(body.encode() if isinstance(body, str) else body)


post = partial(litestar.post, status_code=200, responses=ERROR_RESPONSES)
put = partial(litestar.put, status_code=200, responses=ERROR_RESPONSES)
delete = partial(litestar.delete, status_code=200, responses=ERROR_RESPONSES)

# Ids stay within JavaScript's safe integers, so every client reads them exactly.
MAX_ID = 2**53 - 1
_LIMIT_MAX = 100
Limit = Annotated[
    int | None,
    QueryParameter(
        description="Page size, 1-100 (default 10)", required=False, ge=1, le=_LIMIT_MAX
    ),
]
CursorId = Annotated[
    int | None,
    QueryParameter(
        description="Id of the last item of the previous page; negative pages backwards",
        required=False,
        ge=-MAX_ID,
        le=MAX_ID,
    ),
]
PathId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]


def paging_query(query: bytes) -> tuple[int | None, int | None] | None:
    """``limit`` and ``cursorId`` of a query string when ``Limit`` and ``CursorId`` accept
    them as they are (each at most once, a whole number in range); None otherwise."""
    found: dict[str, int] = {}
    if query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if name not in ("limit", "cursorId"):
                continue
            if name in found or not WHOLE_NUMBER.fullmatch(value):
                return None
            found[name] = int(value)
    limit, cursor = found.get("limit"), found.get("cursorId")
    if limit is not None and not 1 <= limit <= _LIMIT_MAX:
        return None
    if cursor is not None and not -MAX_ID <= cursor <= MAX_ID:
        return None
    return limit, cursor


# A whole number as the query parameters of paging are written (``http.middleware`` refuses
# other text before routing).
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,16}")
_IDENTIFIER_MAX = 260
_IDENTIFIER_PATTERN = r"^[A-Za-z]+(:|%3[Aa])."
_IDENTIFIER = re.compile(_IDENTIFIER_PATTERN)


def accepts_identifier(value: str) -> bool:
    """Whether ``value`` passes ``ContactIdentifier``'s checks (the same length and pattern)."""
    return len(value) <= _IDENTIFIER_MAX and _IDENTIFIER.search(value) is not None


ContactIdentifier = Annotated[
    str,
    PathParameter(
        description="id:<number>, email:<address> or phone:<E.164>, raw or percent-encoded",
        max_length=_IDENTIFIER_MAX,
        pattern=_IDENTIFIER_PATTERN,
        schema_extra={"format": "contact-identifier"},
    ),
]
