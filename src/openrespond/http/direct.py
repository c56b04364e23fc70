"""Direct routes: the hottest reads served without Litestar's per-request work.

A direct route is also an ordinary Litestar route: that one is its OpenAPI operation, and it
answers every request the direct path does not take. The layer here takes only requests the
Litestar route would accept as they are (the method, one path segment that passes the
parameter's checks), sets what routing would have set (``path_template``, ``path_params``),
and runs them through the same API middleware as every ``/v2`` route: authentication, the
rate limit, the request state and the workspace scope are not skipped, and the request log
around the whole application records them as any other. What is skipped is per-request
machinery the read does not need: routing, the ``Request`` object, the handler's signature
model and the response conversion (measured in ``benchmarks/README.md``, "The hot path").

POST routes (``DirectPost``: writes, and pages asked for with a body) go the direct way only
as far as their body converts to the route's type exactly as Litestar converts it
(``msgspec.convert`` with ``strict=False`` and ``str_keys=True``, no hooks): a body that does
not, and any failure other than an ``ApiError``, is handed to the Litestar route with the same
body (the transaction rolled back first), so that every refusal is worded in one place. The API middleware has run by
then: it lets a request through that already holds its state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from openrespond.db import Connection, Scope
from openrespond.errors import ApiError
from openrespond.http.context import STATE_KEY, RequestState, reading_state, writing_state
from openrespond.http.middleware import ApiMiddleware, error_response_bytes, replay, send_json

__all__ = ["DirectPost", "DirectRoute", "DirectRoutes", "HandOff"]

Read = Callable[[Scope[Connection], str], Awaitable[bytes]]
Post = Callable[[Scope[Any], str | None, Any, Any], Awaitable[msgspec.Struct | bytes]]


class HandOff(Exception):
    """Raised by a direct route for a request its Litestar route is to answer (a query
    parameter out of the range the route declares, say)."""


_ROUTE_KEY = "openrespond.direct"


@dataclass(frozen=True, slots=True)
class DirectRoute:
    """``GET {prefix}{param}``: ``read`` answers with the JSON body of a 200 for the value
    of the one path parameter, which ``accepts`` checks as the Litestar route's parameter
    declaration does (a value it refuses goes to Litestar, which answers the 400)."""

    prefix: str
    param: str
    accepts: Callable[[str], bool]
    read: Read

    @property
    def template(self) -> str:
        return f"{self.prefix}{{{self.param}}}"


class DirectPost:
    """``POST {template}``, with at most one path parameter (``{name}``, one path segment
    that ``accepts`` checks as the Litestar route's declaration does). ``answer`` gets the
    request's workspace (in its transaction when ``writes``, else for reading), the
    parameter's value (or None), the body converted to ``body`` and the ASGI scope, and
    returns the 200's struct or JSON bytes; it raises ``HandOff`` for a request the Litestar
    route is to answer."""

    __slots__ = ("_head", "_tail", "accepts", "answer", "body", "param", "template", "writes")

    def __init__(
        self,
        template: str,
        body: Any,
        answer: Post,
        accepts: Callable[[str], bool] | None = None,
        *,
        writes: bool = True,
    ) -> None:
        self.template = template
        self.body = body
        self.answer = answer
        self.accepts = accepts
        self.writes = writes
        self._head, brace, rest = template.partition("{")
        name, _, self._tail = rest.partition("}")
        self.param = name if brace else None
        if self.param is not None and accepts is None:
            raise ValueError(f"{template}: a path parameter needs its check")

    def match(self, path: str) -> str | None:
        """The parameter's value when ``path`` is this route's (``""`` with no parameter)."""
        if self.param is None:
            return "" if path == self._head else None
        head, tail = self._head, self._tail
        if len(path) <= len(head) + len(tail) or not path.startswith(head):
            return None
        if not path.endswith(tail):
            return None
        value = path[len(head) : len(path) - len(tail)]
        if "/" in value or self.accepts is None or not self.accepts(value):
            return None
        return value


class DirectRoutes:
    """The layer in front of Litestar's router (see the module docstring)."""

    def __init__(
        self, app: Any, routes: list[DirectRoute], posts: list[DirectPost] | None = None
    ) -> None:
        self.app = app
        self.routes = {route.prefix: route for route in routes}
        self.posts = list(posts or ())
        self.api = ApiMiddleware(self._answer)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            method = scope["method"]
            path: str = scope["path"]
            if method == "GET":
                cut = path.rfind("/") + 1
                route = self.routes.get(path[:cut])
                if route is not None:
                    value = path[cut:]
                    if value and route.accepts(value):
                        scope["path_template"] = route.template
                        scope["path_params"] = {route.param: value}
                        scope[_ROUTE_KEY] = route
                        await self.api(scope, receive, send)
                        return
            elif method == "POST":
                for post in self.posts:
                    found = post.match(path)
                    if found is not None:
                        param = post.param
                        scope["path_template"] = post.template
                        scope["path_params"] = {param: found} if param else {}
                        scope[_ROUTE_KEY] = post
                        await self.api(scope, receive, send)
                        return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Any, receive: Any, send: Any) -> None:
        """The route, inside the API middleware: the request state is set, the token
        checked; a write's body is read (the middleware replays it) and its transaction
        is committed by the middleware when the 200 leaves."""
        route: DirectRoute | DirectPost = scope[_ROUTE_KEY]
        params = scope["path_params"]
        state: RequestState = scope[STATE_KEY]
        try:
            if isinstance(route, DirectRoute):
                body = await route.read(reading_state(state, params), params[route.param])
            else:
                written = await self._post(route, scope, receive, send, state)
                if written is None:
                    return  # handed to Litestar, which answered
                body = written
        except ApiError as err:
            headers = [
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in err.headers.items()
            ]
            await send_json(send, err.status, error_response_bytes(err), headers)
            return
        await send_json(send, 200, body, [])

    async def _post(
        self, route: DirectPost, scope: Any, receive: Any, send: Any, state: RequestState
    ) -> bytes | None:
        raw = await _body(receive)
        try:
            data: Any = msgspec.convert(
                msgspec.json.decode(raw), route.body, strict=False, str_keys=True
            )
        except (msgspec.DecodeError, msgspec.ValidationError):
            await self.app(scope, replay(raw), send)  # Litestar words the refusal
            return None
        params = scope["path_params"]
        try:
            sc = (
                await writing_state(state, params) if route.writes else reading_state(state, params)
            )
            answer = await route.answer(
                sc, params[route.param] if route.param else None, data, scope
            )
        except ApiError:
            raise
        except Exception:
            # A request for the Litestar route (HandOff), a transient or constraint failure,
            # or a fault: Litestar's exception handlers word (and log) it, running the
            # request once more on a clean transaction.
            if state.tx is not None:
                await state.tx.rollback()
                state.tx = None
            await self.app(scope, replay(raw), send)
            return None
        return answer if isinstance(answer, bytes) else _ENCODER.encode(answer)


_ENCODER = msgspec.json.Encoder()


async def _body(receive: Any) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)
