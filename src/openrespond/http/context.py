"""Per-request state (who is calling, the open transaction) and its accessors for routes."""

from __future__ import annotations

from typing import Any, cast

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from openrespond.db import Connection, Database, Scope, Transaction
from openrespond.errors import Forbidden, NotFound, Unauthorized
from openrespond.http.auth import Principal

__all__ = [
    "RequestState",
    "control_access",
    "read_conn",
    "reading",
    "reading_state",
    "state_of",
    "write_tx",
    "writing",
    "writing_state",
]

STATE_KEY = "openrespond"


class RequestState:
    """Set by the API middleware; the transaction is opened on first write and closed by it."""

    __slots__ = ("db", "principal", "transient", "tx")

    def __init__(self, db: Database, principal: Principal | None) -> None:
        self.db = db
        self.principal = principal
        self.tx: Transaction | None = None
        # Set when the route failed on a TransientError: the middleware runs it again.
        self.transient = False


def state_of(request: ASGIConnection[Any, Any, Any, Any]) -> RequestState:
    state = cast("RequestState | None", request.scope.get(STATE_KEY))
    if state is None or state.principal is None:
        raise Unauthorized("missing or invalid bearer token")
    return state


def control_access(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The guard of every ``/control`` route: a route under ``/control/workspaces/{wid}``
    admits the administrator or a token of workspace ``wid`` (anyone else sees 404, as if
    the workspace did not exist); a route marked ``opt={"admin": True}`` admits only the
    administrator (403), after that."""
    principal = state_of(connection).principal
    assert principal is not None  # state_of refuses a request without one
    wid = connection.path_params.get("wid")
    if wid is not None and not (principal.admin or principal.workspace_id == wid):
        raise NotFound(f"workspace {wid} not found")
    if handler.opt.get("admin") and not principal.admin:
        raise Forbidden("this operation needs the administrator token")


def _conn(state: RequestState) -> Connection:
    return state.tx if state.tx is not None else state.db.reader()


async def _tx(state: RequestState) -> Transaction:
    if state.tx is None:
        state.tx = await state.db.begin(shared=True)
    return state.tx


async def write_tx(request: Request[Any, Any, Any]) -> Transaction:
    """The request's transaction, opened now if needed; the middleware commits or rolls back.
    For work outside any one workspace (creating one); inside one, use ``writing``."""
    return await _tx(state_of(request))


def read_conn(request: Request[Any, Any, Any]) -> Connection:
    """The open transaction if this request has written, else the shared reader. For work
    outside any one workspace (the list of workspaces); inside one, use ``reading``."""
    return _conn(state_of(request))


def _workspace(path_params: dict[str, Any], state: RequestState) -> int:
    """The workspace a request acts in: the ``{wid}`` of a ``/control/workspaces/{wid}``
    route (admitted by the guard, and checked again here), else the calling token's."""
    principal = state.principal
    if principal is None:
        raise Unauthorized("missing or invalid bearer token")
    wid = cast("int | None", path_params.get("wid"))
    if wid is None:
        if principal.workspace_id is None:
            raise Unauthorized("a workspace token is required")
        return principal.workspace_id
    if not (principal.admin or principal.workspace_id == wid):
        raise NotFound(f"workspace {wid} not found")
    return wid


def reading(request: Request[Any, Any, Any]) -> Scope[Connection]:
    """The request's workspace, for reading (through its transaction once it has written)."""
    return reading_state(state_of(request), request.scope["path_params"])


def reading_state(state: RequestState, path_params: dict[str, Any]) -> Scope[Connection]:
    """``reading`` for a layer that has the request's state and path parameters, not a
    ``Request`` (``http.direct``)."""
    return Scope(_conn(state), _workspace(path_params, state))


async def writing(request: Request[Any, Any, Any]) -> Scope[Transaction]:
    """The request's workspace, for writing in the request's transaction."""
    return await writing_state(state_of(request), request.scope["path_params"])


async def writing_state(state: RequestState, path_params: dict[str, Any]) -> Scope[Transaction]:
    """``writing`` for a layer that has the request's state and path parameters."""
    return Scope(await _tx(state), _workspace(path_params, state))
