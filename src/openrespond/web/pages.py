"""What every page handler of the app uses: rendering, posted forms, redirects."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect, Template

from openrespond.web.session import Viewer, check_csrf, form_of, managers_only, viewer

__all__ = ["Req", "page", "posted", "see_other"]

Req = Request[Any, Any, Any]


def page(
    request: Req, name: str, *, status: int = 200, v: Viewer | None = None, **context: Any
) -> Template:
    ctx = {
        "v": v,
        "csrf": v.csrf if v else None,
        "path": request.url.path,
        # Where the live feed stood when the page was made: its stream asks for what came after.
        "live_since": request.app.state.live.position if v else None,
        **context,
    }
    return Template(template_name=name, context=ctx, status_code=status)


def see_other(url: str) -> Redirect:
    return Redirect(url, status_code=303)


async def posted(
    request: Req, wid: int, *, managers: bool = False
) -> tuple[Viewer, dict[str, str]]:
    """The user posting a form in workspace ``wid`` (owners and managers only when
    ``managers``) and the form's fields, its CSRF token checked."""
    v = await viewer(request, wid)
    if managers:
        managers_only(v)
    form = await form_of(request)
    check_csrf(request, form, v.csrf)
    return v, form
