"""Who is using the browser app: the session cookie, the workspace user it acts as, CSRF.

A session (``accounts``) belongs to a person and holds each workspace user whose password
they gave. Pages live under ``/app/{wid}/``: the session's user of workspace ``wid`` acts
there, and a workspace the session holds no user of is answered 404, like anything else
that is not the caller's.

CSRF: every form carries the session's token (``_csrf``), every script request sends it as
``X-CSRF-Token``; before sign-in a random cookie stands in for it (double submit). The
cookies are HttpOnly and SameSite=Lax, Secure when the public URL is https.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from litestar import Request, Response

from openrespond.accounts import service as accounts
from openrespond.db import Database, Row, Scope, Transaction
from openrespond.errors import BadRequest, Forbidden, NotFound
from openrespond.settings import Settings

__all__ = [
    "COOKIE",
    "PRE_COOKIE",
    "SignInRequired",
    "Viewer",
    "anonymous_csrf",
    "check_csrf",
    "form_of",
    "managers_only",
    "secure",
    "session_of",
    "set_cookie",
    "viewer",
    "write",
]

COOKIE = "openrespond_session"
PRE_COOKIE = "openrespond_csrf"
T = TypeVar("T")


class SignInRequired(Exception):
    """The page needs a signed-in session; the app answers with the sign-in page."""


@dataclass(slots=True)
class Viewer:
    """The signed-in person acting in workspace ``ws`` as ``user``."""

    session: accounts.SessionInfo
    users: list[Row]
    user: Row
    ws: int

    @property
    def user_id(self) -> int:
        return int(self.user["id"])

    @property
    def manager(self) -> bool:
        return self.user["role"] in ("owner", "manager")

    @property
    def csrf(self) -> str:
        return self.session.csrf


def _settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _db(request: Request[Any, Any, Any]) -> Database:
    db: Database = request.app.state.db
    return db


def secure(request: Request[Any, Any, Any]) -> bool:
    public = _settings(request).public_url
    return bool(public and public.startswith("https://"))


def set_cookie(
    response: Response[Any], request: Request[Any, Any, Any], name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/app",
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )


async def session_of(
    request: Request[Any, Any, Any],
) -> tuple[accounts.SessionInfo, list[Row]] | None:
    """The request's valid session and its active users, or None."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    db = _db(request)
    settings = _settings(request)
    session, due = await accounts.valid_session(
        db.reader(), token, idle_seconds=settings.session_idle_seconds
    )
    if session is None:
        return None
    users = await accounts.session_users(db.reader(), session)
    if not users:
        return None
    if due:
        async with db.transaction() as tx:
            await accounts.touch(tx, session)
    return session, users


async def viewer(request: Request[Any, Any, Any], wid: int) -> Viewer:
    """The session's user of workspace ``wid``: sign-in first when there is no session, 404
    when the session holds no user there."""
    found = await session_of(request)
    if found is None:
        raise SignInRequired
    session, users = found
    user = next((u for u in users if u["workspace_id"] == wid), None)
    if user is None:
        raise NotFound(f"workspace {wid} not found")
    return Viewer(session, users, user, wid)


def managers_only(v: Viewer) -> None:
    """Owners and managers only: anybody else gets 404, as for a page that is not there."""
    if not v.manager:
        raise NotFound("page not found")


async def form_of(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The posted form's text fields (the last value of each); 400 naming a field that
    holds a NUL character."""
    form = await request.form()
    out: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if "\x00" in value or "\x00" in key:
            raise BadRequest(f"{key[:64]}: text must not contain NUL characters")
        out[key] = value
    return out


def check_csrf(request: Request[Any, Any, Any], form: dict[str, str], expected: str) -> None:
    """403 unless the form's ``_csrf`` (or the ``X-CSRF-Token`` header) is ``expected``."""
    given = form.get("_csrf") or request.headers.get("x-csrf-token")
    if not accounts.csrf_matches(expected, given):
        raise Forbidden("the form is stale or was not sent by this app (CSRF check failed)")


def anonymous_csrf(request: Request[Any, Any, Any]) -> str:
    """The pre-session CSRF token: the cookie's, or a new one (set it on the response)."""
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)


async def write(
    request: Request[Any, Any, Any], ws: int, work: Callable[[Scope[Transaction]], Awaitable[T]]
) -> T:
    """``work`` in one transaction of workspace ``ws`` (run again when the database gives up
    on it for timing reasons); what it raises is rolled back."""
    db = _db(request)

    async def run(tx: Transaction) -> T:
        return await work(Scope(tx, ws))

    return await db.retrying(run)
