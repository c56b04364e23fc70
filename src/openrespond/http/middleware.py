"""The ASGI middleware around every ``/v2`` and ``/control`` route.

In order: media type and size checks, authentication, the rate limit, the idempotency claim,
then the route; when the route has written, its transaction is committed just before the
response leaves (rolled back for any error status), together with the idempotency record.

A write's body is read whole first (it is small: ``max_body_bytes``), so that text with NUL
characters, which no backend stores alike, is refused up front, and so that a transaction the
database gave up on for timing reasons (a PostgreSQL deadlock or serialization failure) is run
again with the same body before anything has been sent.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from openrespond import metrics
from openrespond.asgi import Disconnected
from openrespond.db import TransientError
from openrespond.errors import (
    ApiError,
    BadRequest,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from openrespond.http import idempotency
from openrespond.http.auth import ADMIN, Principal, bearer_token
from openrespond.http.context import STATE_KEY, RequestState
from openrespond.http.requestlog import BODY_KEY, GONE_KEY, RECORD_KEY
from openrespond.http.routing import WHOLE_NUMBER

__all__ = [
    "MAX_DEPTH",
    "ApiMiddleware",
    "error_response_bytes",
    "refuse_deep",
    "refuse_nul",
    "replay",
    "send_json",
]

# Plain ASGI shapes: this middleware reads and writes raw messages.
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("openrespond.http")

_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_JSON_HEADERS = [(b"content-type", b"application/json")]
# Attempts at a write whose transaction the database gave up on (deadlock, serialization).
_ATTEMPTS = 5
# A JSON \u0000 escape that is not itself escaped (\\u0000 is a backslash and "u0000").
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def error_response_bytes(err: ApiError) -> bytes:
    return msgspec.json.encode(err.body())


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON_HEADERS, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ApiMiddleware:
    """See the module docstring; the app's state holds db, settings, auth and limiter."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or STATE_KEY in scope:
            # Not HTTP, or through this already (a direct route handing a request to its
            # Litestar route: authenticated, counted, its body read and its commit awaited).
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/v2/"):
            control = False
        elif path.startswith("/control/"):
            control = True
        else:
            await self.app(scope, receive, send)
            return
        st = scope["litestar_app"].state
        if scope["method"] == "OPTIONS":
            # Preflight carries no credentials; answer with every method the path serves.
            allow = st.allowed_methods.get(scope.get("path_template", ""), "OPTIONS")
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [(b"allow", allow.encode())],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        extra: list[tuple[bytes, bytes]] = []
        try:
            try:
                principal = await self._authenticate(scope, st, control)
                if not control:
                    scope[RECORD_KEY] = principal  # the request log's (http.requestlog)
            except Unauthorized:
                # Failed logins spend a per-client bucket, so token guessing is throttled too.
                if not control and st.limiter.enabled:
                    client = (scope.get("client") or ("?", 0))[0]
                    decision = await st.limiter.take(f"anon|{client}")
                    extra = decision.headers(st.limiter.window)
                    if not decision.allowed:
                        metrics.RATE_LIMITED.labels("unauthenticated").inc()
                        raise TooManyRequests(
                            f"too many unauthenticated requests; retry after {decision.retry_after} s"
                        ) from None
                raise
            if not control:
                decision = (
                    await st.limiter.take(
                        f"{principal.workspace_id}|{scope['method']}|"
                        f"{scope.get('path_template', path)}"
                    )
                    if st.limiter.enabled
                    else None
                )
                if decision is not None:
                    extra = decision.headers(st.limiter.window)
                    if not decision.allowed:
                        metrics.RATE_LIMITED.labels("workspace").inc()
                        raise TooManyRequests(
                            f"rate limit of {st.settings.rate_limit_per_second:g} requests per"
                            f" second for {scope['method']} {scope.get('path_template', path)}"
                            f" exceeded; retry after {decision.retry_after} s"
                        )
            self._check_url(scope)
            _check_paging(scope.get("query_string", b""))
            self._check_body(scope, st.settings.max_body_bytes)
        except ApiError as err:
            await send_json(send, err.status, error_response_bytes(err), extra)
            return
        state = RequestState(st.db, principal)
        scope[STATE_KEY] = state
        claim: idempotency.Claim | None = None
        body: bytes | None = None
        if scope["method"] in _WRITE_METHODS:
            try:
                body = await _read_body(receive, st.settings.max_body_bytes)
                if not control:
                    scope[BODY_KEY] = body
                refuse_deep(body)
                refuse_nul(body)
            except ApiError as err:
                await send_json(send, err.status, error_response_bytes(err), extra)
                return
            except Disconnected:
                scope[GONE_KEY] = True
                return  # the client left mid-body: a part of a request is not a request
        key = _header(scope, b"idempotency-key") if body is not None else None
        if key is not None and body is not None and principal.workspace_id:
            try:
                fp = idempotency.fingerprint(
                    scope["method"], path, scope.get("query_string", b""), body
                )
                got = await idempotency.claim(
                    st.db,
                    workspace_id=principal.workspace_id,
                    key=key,
                    fingerprint=fp,
                    ttl=st.settings.idempotency_ttl_seconds,
                )
            except ApiError as err:
                await send_json(send, err.status, error_response_bytes(err), extra)
                return
            if isinstance(got, idempotency.Replay):
                await send_json(
                    send, got.status, got.body, [*extra, (b"idempotent-replayed", b"true")]
                )
                return
            claim = got
        if body is None:
            await self._read_only(scope, receive, send, state, extra)
            return
        for attempt in range(1, _ATTEMPTS + 1):
            last = attempt == _ATTEMPTS
            if await self._run(scope, replay(body), send, state, claim, extra, last=last):
                return
            # The database gave up on the transaction for timing reasons: nothing was sent
            # and nothing kept; wait a little (more each time, with jitter) and run it again.
            log.info("retrying %s %s (attempt %d)", scope["method"], path, attempt + 1)
            await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))

    async def _read_only(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        state: RequestState,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        """Reads open no transaction: only the rate-limit headers need adding."""
        if not extra:
            forward = send
        else:

            async def forward(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", ()), *extra]}
                await send(message)

        try:
            await self.app(scope, receive, forward)
        finally:
            if state.tx is not None:
                await state.tx.rollback()
                state.tx = None

    async def _authenticate(self, scope: Scope, st: Any, control: bool) -> Principal:
        token = bearer_token(_header(scope, b"authorization"))
        if token is None:
            raise Unauthorized("missing bearer token: send Authorization: Bearer <token>")
        if control and st.auth.is_admin(token):
            return ADMIN
        principal: Principal | None = await st.auth.authenticate(token)
        if principal is None:
            raise Unauthorized("invalid or revoked token")
        return principal

    @staticmethod
    def _check_url(scope: Scope) -> None:
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"").lower():
            raise BadRequest("the URL must not contain NUL characters (%00)")

    @staticmethod
    def _check_body(scope: Scope, limit: int) -> None:
        if scope["method"] not in _WRITE_METHODS:
            return
        content_type = _header(scope, b"content-type")
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
        if content_type and not _is_json(content_type) and length not in (None, "0"):
            raise UnsupportedMediaType(
                f"Content-Type must be application/json, got {content_type[:80]!r}"
            )

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        state: RequestState,
        claim: idempotency.Claim | None,
        extra: list[tuple[bytes, bytes]],
        *,
        last: bool,
    ) -> bool:
        """Run the route once; False when it should run again (a transient database failure
        before anything was sent, and this is not the ``last`` attempt)."""
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []
        state.transient = False
        again = False

        async def wrapped(message: Message) -> None:
            nonlocal start, again
            if message["type"] == "http.response.start":
                msg = dict(message)
                msg["headers"] = [*message.get("headers", ()), *extra]
                if state.tx is None and claim is None:
                    await send(msg)
                else:
                    start = msg
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if state.transient and not last:
                await _abandon(state)
                again = True
                return
            try:
                await _finish(state, claim, start["status"], body)
            except TransientError:
                if not last:
                    again = True
                    return
                log.warning("gave up committing %s %s", scope["method"], scope["path"])
                body = msgspec.json.encode(
                    {"code": 503, "message": "the database is busy; the change was not saved"}
                )
                start["status"] = 503
                start["headers"] = _with_body_headers(start["headers"], body, b"1")
            except Exception:
                log.exception("could not commit %s %s", scope["method"], scope["path"])
                body = msgspec.json.encode(
                    {"code": 500, "message": "internal error: the change was not saved"}
                )
                start["status"] = 500
                start["headers"] = _with_body_headers(start["headers"], body)
            await send(start)
            await send({"type": "http.response.body", "body": body})

        try:
            await self.app(scope, receive, wrapped)
        finally:
            if state.tx is not None:
                await state.tx.rollback()  # no-op once committed
                state.tx = None
        return not again


_PAGING = (b"limit=", b"cursorId=")


def _check_paging(query: bytes) -> None:
    """``limit`` and ``cursorId`` are whole numbers, written as such: text such as ``null``,
    ``5.0`` or ``1e1`` is a 400 rather than read as absent or converted (ranges are the
    routes' to check)."""
    if not query or not any(name in query for name in _PAGING):
        return
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in ("limit", "cursorId") and not WHOLE_NUMBER.fullmatch(value):
            raise BadRequest(f"query parameter {name}: must be a whole number, got {value[:32]!r}")


def _with_body_headers(
    headers: list[tuple[bytes, bytes]], body: bytes, retry_after: bytes | None = None
) -> list[tuple[bytes, bytes]]:
    kept = [
        (k, v) for k, v in headers if k not in (b"content-length", b"content-type", b"retry-after")
    ]
    extra = [(b"retry-after", retry_after)] if retry_after else []
    return [*kept, *_JSON_HEADERS, (b"content-length", str(len(body)).encode()), *extra]


async def _abandon(state: RequestState) -> None:
    if state.tx is not None:
        await state.tx.rollback()
        state.tx = None


# How deep JSON bodies may nest: far more than any request needs (a list filter is five
# levels), far less than what exhausts a decoder's recursion.
MAX_DEPTH = 64
# A string, closed or not (an unclosed one runs to the end in one match, so the scan stays
# linear), or a bracket.
_NESTING = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


def refuse_deep(body: bytes, limit: int = MAX_DEPTH) -> None:
    """400 when the JSON in ``body`` nests arrays and objects deeper than ``limit``."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return  # cannot be that deep
    depth = 0
    for token in _NESTING.finditer(body):
        ch = token[0][:1]
        if ch in b"[{":
            depth += 1
            if depth > limit:
                raise BadRequest(f"request body: JSON nested deeper than {limit} levels")
        elif ch in b"]}":
            depth -= 1


def refuse_nul(body: bytes) -> None:
    """400 naming the first field whose text (or name) holds a NUL character."""
    if b"\\u0000" not in body or not _NUL_ESCAPE.search(body):
        return
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return  # the route answers malformed JSON in its own words
    where = _nul_path(doc, "")
    if where is not None:
        raise BadRequest(
            f"{where or 'request body'}: text must not contain NUL characters (\\u0000)"
        )


def _nul_path(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (found := _nul_path(item, f"{path}[{i}]")) is not None:
                return found
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else key
            if "\x00" in key:
                return name.replace("\x00", "\\u0000")
            if (found := _nul_path(item, name)) is not None:
                return found
    return None


async def _finish(
    state: RequestState, claim: idempotency.Claim | None, status: int, body: bytes
) -> None:
    tx = state.tx
    if tx is not None and status < 400:
        if claim is not None:
            await idempotency.record(tx, claim, status=status, body=body)
        await tx.commit()
        state.tx = None
        return
    if tx is not None:
        await tx.rollback()
        state.tx = None
    if claim is None:
        return
    if status >= 500:
        await idempotency.release(state.db, claim)
        return
    async with state.db.transaction() as own:
        await idempotency.record(own, claim, status=status, body=body)


async def _read_body(receive: Receive, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def replay(body: bytes) -> Receive:
    """A ``receive`` that hands over ``body`` whole, then a disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
