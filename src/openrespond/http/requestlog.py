"""One log line per request, and the request id that ties it to the caller.

The caller's ``X-Request-Id`` is kept when it is 1-128 characters of letters, digits and
``._:-`` (anything else, control characters included, is replaced, never echoed); otherwise a
new id is made. It is returned as ``X-Request-Id`` and logged with the method, the route
template (not the path, which may hold an email or phone), the status, the duration and the
workspace. Tokens, bodies and query strings are never logged. A path no route serves is
logged (and counted) as ``(unmatched)``.

The same measurements feed the HTTP metrics (``openrespond.metrics``). The middleware wraps
the whole application, routing included, so 404s and 405s are logged and counted too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from typing import Any

from openrespond import metrics
from openrespond.apilog.recorder import ApiLog
from openrespond.asgi import body_seconds
from openrespond.http.context import STATE_KEY
from openrespond.logs import access_lines

__all__ = [
    "BODY_KEY",
    "GONE_KEY",
    "RECORD_KEY",
    "REQUEST_ID_KEY",
    "RequestLogMiddleware",
    "request_id",
]

log = logging.getLogger("openrespond.access")
REQUEST_ID_KEY = "openrespond.request_id"
# Set by the API middleware once a /v2 request's token is known (the principal), and with a
# write's body: the request then goes into the workspace's request log (``openrespond.apilog``).
RECORD_KEY = "openrespond.record"
BODY_KEY = "openrespond.body"
# Set by a layer that stopped because the client left mid-request: no answer is owed.
GONE_KEY = "openrespond.gone"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNMATCHED = "(unmatched)"
# The OpenAPI documents are served from "/", under a template that takes any one segment.
_DOCS_CATCH_ALL = "/{path}"


class _NewIds:
    """Random ids of 32 hex digits (as many random bits as a UUID4), the system's random
    bytes drawn for 256 ids at a time instead of a system call per request."""

    __slots__ = ("_at", "_pool")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._pool = ""
        self._at = 0

    def __call__(self) -> str:
        at = self._at
        if at >= len(self._pool):
            self._pool = os.urandom(16 * 256).hex()
            at = 0
        self._at = at + 32
        return self._pool[at : at + 32]


new_id = _NewIds()
if hasattr(os, "register_at_fork"):  # a forked process must not repeat its parent's ids
    os.register_at_fork(after_in_child=new_id.reset)


def request_id(value: str | None) -> str:
    """The caller's id when it is safe to echo, else a new one."""
    if value is not None and _VALID.match(value):
        return value
    return new_id()


_FAILED = b'{"code":500,"message":"internal error"}'
_LATE = b'{"code":408,"message":"the request body was not received in time"}'
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def _answer(send: Any, status: int, body: bytes, rid_header: tuple[bytes, bytes]) -> None:
    """A JSON error that closes the connection."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(body)),
        (b"connection", b"close"),
        rid_header,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _with_deadline(receive: Any, seconds: float, late: list[bool]) -> Any:
    """``receive``, ending in a disconnect (and ``late`` set) once ``seconds`` have passed."""
    loop = asyncio.get_running_loop()
    due = loop.time() + seconds

    async def receive_() -> Any:
        if late:
            return {"type": "http.disconnect"}
        try:
            # A timer on this task (no task and future per receive, as wait_for makes).
            async with asyncio.timeout_at(due):
                return await receive()
        except TimeoutError:
            late.append(True)
            return {"type": "http.disconnect"}

    return receive_


class RequestLogMiddleware:
    """Outermost layer: sets the request id, adds the header, logs and counts the request,
    and answers a JSON 500 when the application fails (or returns) before answering."""

    def __init__(
        self, app: Any, *, api_log: ApiLog | None = None, body_timeout: float | None = None
    ) -> None:
        self.app = app
        self.api_log = api_log if api_log is not None and api_log.enabled else None
        # Set when the HTTP server keeps no deadline for request bodies (granian): a body
        # not received in time is answered 408 here (uvicorn's guard does it otherwise).
        self.body_timeout = body_timeout

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                given = value
                break
        rid = request_id(given.decode("latin-1") if given is not None else None)
        scope[REQUEST_ID_KEY] = rid
        rid_header = (b"x-request-id", rid.encode())
        started = time.perf_counter()
        status = 500
        answered = False
        failure: list[bytes] = []  # the answer's body, kept when it is a failure
        late: list[bool] = []  # set when the body's deadline passed
        if self.body_timeout is not None and scope["method"] in _BODY_METHODS:
            receive = _with_deadline(
                receive, body_seconds(self.body_timeout, scope["headers"]), late
            )

        async def wrapped(message: Any) -> None:
            nonlocal status, answered
            if late:
                # Whatever the application makes of the missing body, the answer is a 408.
                if not answered:
                    answered, status = True, 408
                    await _answer(send, 408, _LATE, rid_header)
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                answered = True
                # No layer inside sets the header: it is added, not replaced.
                message = {**message, "headers": [*message.get("headers", ()), rid_header]}
            elif status >= 400 and message["type"] == "http.response.body" and RECORD_KEY in scope:
                failure.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        except Exception:
            if answered:
                raise  # half an answer cannot be replaced: the server closes the connection
            log.exception("unhandled error before the response started")
            await self._failed(send, rid_header)
            status = 500
        else:
            if not answered and late:
                answered, status = True, 408
                await _answer(send, 408, _LATE, rid_header)
            elif not answered and not scope.get(GONE_KEY):
                log.error("the application returned without a response")
                await self._failed(send, rid_header)
                status = 500
        finally:
            self._record(scope, rid, status, answered, failure, started)

    @staticmethod
    async def _failed(send: Any, rid_header: tuple[bytes, bytes]) -> None:
        await _answer(send, 500, _FAILED, rid_header)

    def _record(
        self,
        scope: Any,
        rid: str,
        status: int,
        answered: bool,
        failure: list[bytes],
        started: float,
    ) -> None:
        route = scope.get("path_template") or UNMATCHED
        if route == _DOCS_CATCH_ALL and status == 404:
            route = UNMATCHED  # no document of that name: a path nothing serves
        elapsed = time.perf_counter() - started
        method = scope["method"]
        metrics.observe_request(route, method, status, elapsed)
        principal = scope.get(RECORD_KEY)
        if principal is not None and answered and self.api_log is not None:
            path = scope["path"]
            qs = scope.get("query_string", b"")
            self.api_log.record(
                principal.workspace_id,
                principal.token_id,
                method,
                route,
                f"{path}?{qs.decode('latin-1')}" if qs else path,
                status,
                int(elapsed * 1_000_000),
                rid,
                scope.get(BODY_KEY),
                b"".join(failure) if failure else None,
            )
        state = scope.get(STATE_KEY)
        principal = getattr(state, "principal", None)
        workspace = getattr(principal, "workspace_id", None)
        lines = access_lines()
        if lines is not None:
            lines.add(method, route, status, elapsed * 1000, rid, workspace)
        elif log.isEnabledFor(logging.INFO):  # request lines off: build nothing for them
            duration = elapsed * 1000
            log.info(
                "%s %s %s %.1f ms",
                method,
                route,
                status,
                duration,
                extra={
                    "request_id": rid,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration, 2),
                    "workspace": workspace,
                },
            )
