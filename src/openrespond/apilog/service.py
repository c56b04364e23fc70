"""Reading the API request log, and what goes into it: filters checked with errors naming the
parameter, bodies redacted and cut to size before they are stored."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import msgspec

from openrespond.apilog import repository as repo
from openrespond.db import Connection, Row, Scope
from openrespond.db.paging import Cursor, PageRows
from openrespond.errors import BadRequest, NotFound

__all__ = [
    "BODY_LIMIT",
    "STATUS_CLASSES",
    "ApiRequest",
    "RequestFilter",
    "get_request",
    "list_requests",
    "parse_filter",
    "redact",
    "tokens",
]

# What is kept of a failed request's body and of the answer to it.
BODY_LIMIT = 16 * 1024
REDACTED = "[redacted]"
# Keys whose values are credentials wherever they appear in a JSON body.
_SECRET_KEY = re.compile(
    r"pass(word|phrase)?|secret|token|authori[sz]ation|api[-_]?key|signing[-_]?key|"
    r"credential|private[-_]?key|cookie",
    re.IGNORECASE,
)
# The same in text that is not JSON (a malformed body): "key": "value" and key=value.
_SECRET_TEXT = re.compile(
    r"""(?P<key>["']?[\w-]*(?:pass(?:word|phrase)?|secret|token|authori[sz]ation|api[-_]?key"""
    r"""|signing[-_]?key|credential|private[-_]?key|cookie)[\w-]*["']?\s*[:=]\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"?|'[^']*'?|[^\s,&}]+)""",
    re.IGNORECASE,
)
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "errors")
_STATUS_RANGES = {
    "2xx": (200, 299),
    "3xx": (300, 399),
    "4xx": (400, 499),
    "5xx": (500, 599),
    "errors": (400, 599),
}


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def redact(raw: bytes | None) -> str | None:
    """``raw`` as text to store: JSON with every credential-like key's value replaced, other
    text with ``key: value`` / ``key=value`` pairs of such keys replaced; NUL characters
    escaped, invalid UTF-8 replaced, at most ``BODY_LIMIT`` characters."""
    if not raw:
        return None
    try:
        text = msgspec.json.encode(_scrub(msgspec.json.decode(raw))).decode()
    except (msgspec.DecodeError, UnicodeDecodeError):
        text = _SECRET_TEXT.sub(
            lambda m: m["key"] + REDACTED, raw[: BODY_LIMIT * 2].decode("utf-8", "replace")
        )
    text = text.replace("\x00", "\\u0000")
    if len(text) > BODY_LIMIT:
        text = f"{text[:BODY_LIMIT]}… ({len(text) - BODY_LIMIT} more characters not kept)"
    return text


class ApiRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One ``/v2`` request as the log keeps it. ``requestBody`` and ``responseBody`` are kept
    for answers of 400 and above only, with secrets redacted."""

    id: int
    at_ms: int = msgspec.field(name="atMs")
    method: str
    route: str
    path: str
    status: int
    duration_ms: float = msgspec.field(name="durationMs")
    request_id: str = msgspec.field(name="requestId")
    token_id: int | None = msgspec.field(name="tokenId")
    token_name: str | None = msgspec.field(name="tokenName")
    has_body: bool = msgspec.field(name="hasBody")
    request_body: str | None = msgspec.field(default=None, name="requestBody")
    response_body: str | None = msgspec.field(default=None, name="responseBody")


def _entry(row: Row, *, bodies: bool = False) -> ApiRequest:
    return ApiRequest(
        id=row["id"],
        at_ms=row["at_ms"],
        method=row["method"],
        route=row["route"],
        path=row["path"],
        status=row["status"],
        duration_ms=round(row["duration_us"] / 1000, 2),
        request_id=row["request_id"],
        token_id=row["token_id"],
        token_name=row["token_name"],
        has_body=bool(row["has_body"]),
        request_body=row["request_body"] if bodies else None,
        response_body=row["response_body"] if bodies else None,
    )


@dataclass(frozen=True, slots=True)
class RequestFilter:
    status: str | None = None
    route: str | None = None
    token: int | None = None
    since_ms: int | None = None
    until_ms: int | None = None


def _moment(name: str, raw: str | None) -> int | None:
    """Milliseconds since the epoch, or an ISO 8601 time (UTC when it names no zone)."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if text.isdigit() and len(text) <= 16:
        return int(text)
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"{name} must be an ISO 8601 time (2026-12-03T16:00) or milliseconds since"
            f" the epoch, got {text[:40]!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000)


def parse_filter(
    *,
    status: str | None = None,
    route: str | None = None,
    token: str | int | None = None,
    since: str | None = None,
    until: str | None = None,
) -> RequestFilter:
    """The filters of a query string or form; 400 naming the one that is not acceptable."""
    status = (status or "").strip() or None
    if status is not None and status not in STATUS_CLASSES:
        raise BadRequest(f"status must be one of {', '.join(STATUS_CLASSES)}, got {status[:16]!r}")
    route = (route or "").strip() or None
    if route is not None and (len(route) > 200 or not route.startswith("/v2/") or "\x00" in route):
        raise BadRequest("route must be a /v2 route template such as /v2/contact/{identifier}")
    token_id: int | None = None
    if token is not None and str(token).strip():
        raw = str(token).strip()
        if not raw.isdigit() or len(raw) > 16:
            raise BadRequest(f"token must be a token id, got {raw[:20]!r}")
        token_id = int(raw)
    # An empty range (until before since) is no error: nothing matches it.
    since_ms, until_ms = _moment("since", since), _moment("until", until)
    return RequestFilter(status, route, token_id, since_ms, until_ms)


async def list_requests(
    sc: Scope[Connection], f: RequestFilter, *, cursor: Cursor
) -> tuple[list[ApiRequest], PageRows]:
    """A page of the workspace's requests, newest first."""
    where: list[str] = []
    args: list[Any] = []
    if f.status is not None:
        lo, hi = _STATUS_RANGES[f.status]
        where.append("r.status BETWEEN ? AND ?")
        args += [lo, hi]
    if f.route is not None:
        where.append("r.route = ?")
        args.append(f.route)
    if f.token is not None:
        where.append("r.token_id = ?")
        args.append(f.token)
    if f.since_ms is not None:
        where.append("r.at_ms >= ?")
        args.append(f.since_ms)
    if f.until_ms is not None:
        where.append("r.at_ms <= ?")
        args.append(f.until_ms)
    page = await repo.page(sc, cursor=cursor, where=" AND ".join(where), args=args)
    return [_entry(r) for r in page.rows], page


async def get_request(sc: Scope[Connection], request_pk: int) -> ApiRequest:
    row = await repo.one(sc, request_pk)
    if row is None:
        raise NotFound(f"request {request_pk} not found")
    return _entry(row, bodies=True)


async def tokens(sc: Scope[Connection]) -> list[tuple[int, str]]:
    """The workspace's tokens (revoked ones too: their requests stay in the log)."""
    return [(r["id"], r["name"]) for r in await repo.token_names(sc)]
