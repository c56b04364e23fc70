"""Links to the neighbouring pages of a keyset page (``db.paging`` finds the pages)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from litestar import Request

from openrespond.common import Pagination
from openrespond.db.paging import PageRows

__all__ = ["page_links", "public_base", "request_origin", "scope_page_links"]

_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?")


def public_base(request: Request[Any, Any, Any]) -> str:
    """The server's address as its clients use it (``OPENRESPOND_PUBLIC_URL``, else the
    request's own origin)."""
    return _base(request.scope, request.app.state.settings)


def _base(scope: Any, settings: Any) -> str:
    base: str = settings.public_url or request_origin(scope, settings.proxies)
    return base


def request_origin(scope: Any, proxies: tuple[Any, ...] = ()) -> str:
    """``scheme://host`` as the client addressed this server: X-Forwarded-Proto and
    X-Forwarded-Host when the peer is one of ``proxies`` (a reverse proxy), else the
    request's own scheme and Host header."""
    if proxies:
        client = scope.get("client")
        try:
            peer = ipaddress.ip_address(client[0]) if client else None
        except ValueError:
            peer = None
        if peer is not None and any(peer.version == n.version and peer in n for n in proxies):
            headers = {k: v for k, v in scope["headers"] if k.startswith(b"x-forwarded-")}
            # The right-most value is the one the trusted proxy itself added.
            proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").split(",")[-1]
            host = headers.get(b"x-forwarded-host", b"").decode("latin-1").split(",")[-1]
            if proto.strip() in ("http", "https") and _HOST.fullmatch(host.strip()):
                return f"{proto.strip()}://{host.strip()}"
    return _origin(scope)


def page_links(request: Request[Any, Any, Any], page: PageRows, limit: int) -> Pagination:
    """Absolute ``next``/``previous`` URLs for ``page``, keeping the request's other query."""
    return scope_page_links(request.scope, request.app.state.settings, page, limit)


def scope_page_links(scope: Any, settings: Any, page: PageRows, limit: int) -> Pagination:
    """``page_links`` for a layer that has the ASGI scope and the settings, not a
    ``Request`` (``http.direct``)."""
    base = _base(scope, settings)
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
