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
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from openrespond.db import Connection, Scope
from openrespond.errors import ApiError
from openrespond.http.context import STATE_KEY, reading_state
from openrespond.http.middleware import ApiMiddleware, error_response_bytes, send_json

__all__ = ["DirectRoute", "DirectRoutes"]

Read = Callable[[Scope[Connection], str], Awaitable[bytes]]
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


class DirectRoutes:
    """The layer in front of Litestar's router (see the module docstring)."""

    def __init__(self, app: Any, routes: list[DirectRoute]) -> None:
        self.app = app
        self.routes = {route.prefix: route for route in routes}
        self.api = ApiMiddleware(_answer)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
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
        await self.app(scope, receive, send)


async def _answer(scope: Any, receive: Any, send: Any) -> None:
    """The route, inside the API middleware: the request state is set, the token checked."""
    route: DirectRoute = scope[_ROUTE_KEY]
    try:
        sc = reading_state(scope[STATE_KEY], scope["path_params"])
        body = await route.read(sc, scope["path_params"][route.param])
    except ApiError as err:
        headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in err.headers.items()
        ]
        await send_json(send, err.status, error_response_bytes(err), headers)
        return
    await send_json(send, 200, body, [])
