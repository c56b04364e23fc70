"""Links to the neighbouring pages of a keyset page (``db.paging`` finds the pages)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from litestar import Request

from openrespond.common import Pagination
from openrespond.db.paging import PageRows

__all__ = ["page_links", "public_base"]


def public_base(request: Request[Any, Any, Any]) -> str:
    """The server's address as its clients use it (``OPENRESPOND_PUBLIC_URL``, else the
    request's own origin)."""
    base: str = request.app.state.settings.public_url or _origin(request.scope)
    return base


def page_links(request: Request[Any, Any, Any], page: PageRows, limit: int) -> Pagination:
    """Absolute ``next``/``previous`` URLs for ``page``, keeping the request's other query."""
    scope = request.scope
    base = public_base(request)
    path = quote(scope.get("root_path", "") + scope["path"], safe="/:@+!$&'()*,;=-._~")
    query = scope.get("query_string", b"").decode("utf-8", "replace")
    keep = [
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if k not in ("limit", "cursorId")
    ]

    def link(cur: int | None) -> str | None:
        if cur is None:
            return None
        return f"{base}{path}?{urlencode([*keep, ('limit', limit), ('cursorId', cur)])}"

    return Pagination(next=link(page.next_cursor), previous=link(page.previous_cursor))


def _origin(scope: Any) -> str:
    """``scheme://host`` as the client addressed this server (its Host header)."""
    for name, value in scope["headers"]:
        if name == b"host":
            return f"{scope['scheme']}://{value.decode('latin-1')}"
    server = scope.get("server")
    host = f"{server[0]}:{server[1]}" if server else "localhost"
    return f"{scope['scheme']}://{host}"
