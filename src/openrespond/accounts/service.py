"""Passwords, one-time links and browser sessions.

Passwords are hashed with Argon2id (argon2-cffi's defaults); hashing runs in a thread so a
sign-in does not stall the event loop. Link and session tokens are 256-bit random strings of
which only a SHA-256 is stored: a copy of the database signs nobody in.

A person signs in with an email and a password; every active user of any workspace with that
email whose password matches is theirs for the session, and the app lets them switch between
those workspaces. Failed attempts are counted per account and per client, in the database, so
the limit holds across processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from openrespond import common
from openrespond.accounts import repository as repo
from openrespond.db import Connection, Row, Scope, Transaction
from openrespond.errors import BadRequest, NotFound, TooManyRequests
from openrespond.space import repository as space_repo
from openrespond.space import users as space_users
from openrespond.validation import normalize_email

__all__ = [
    "ACCOUNT_FAILURES",
    "CLIENT_FAILURES",
    "FAILURE_WINDOW_MS",
    "LINK_SECONDS",
    "MIN_PASSWORD",
    "SessionInfo",
    "check_password",
    "csrf_matches",
    "end_session",
    "invite",
    "issue_link",
    "link_url",
    "open_link",
    "redeem_link",
    "session_users",
    "set_password",
    "sign_in",
    "start_session",
    "touch",
    "user_by_email",
    "valid_session",
]

MIN_PASSWORD = 10
MAX_PASSWORD = 512
# How long each kind of link works.
LINK_SECONDS = {"invite": 7 * 24 * 3600, "reset": 3600, "signin": 24 * 3600}
# Failed sign-ins tolerated in FAILURE_WINDOW_MS before further attempts are refused unread.
ACCOUNT_FAILURES = 5
CLIENT_FAILURES = 30
FAILURE_WINDOW_MS = 15 * 60 * 1000
# A session's last-seen time is written at most this often (not on every page).
_TOUCH_SECONDS = 60

_HASHER = PasswordHasher()
# Verified against when no user has the email, so that such an attempt takes as long.
_DUMMY = _HASHER.hash(secrets.token_hex(16))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> str:
    """The password if it is acceptable; 400 naming ``password`` otherwise."""
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"password: must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise BadRequest(f"password: must be at most {MAX_PASSWORD} characters")
    if "\x00" in password:
        raise BadRequest("password: must not contain NUL characters")
    return password


async def _hash(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def _verify(encoded: str, password: str) -> bool:
    def run() -> bool:
        try:
            return _HASHER.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(run)


async def set_password(sc: Scope[Transaction], user_id: int, *, password: str) -> None:
    """Set a user's password and end the sessions that held the user."""
    encoded = await _hash(check_password(password))
    if not await repo.set_password(sc, user_id, password_hash=encoded):
        raise NotFound(f"user {user_id} not found")
    await repo.delete_sessions_of(sc, user_id)


async def issue_link(sc: Scope[Transaction], user_id: int, *, purpose: str) -> tuple[str, int]:
    """A one-time link token for the user (``invite``, ``reset`` or ``signin``) and when it
    expires; the token is shown once (only its hash is kept)."""
    if purpose not in LINK_SECONDS:
        raise BadRequest(f"purpose must be one of {', '.join(LINK_SECONDS)}, got {purpose!r}")
    user = await space_repo.get_user(sc, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    token = secrets.token_urlsafe(32)
    at = common.now()
    expires = at + LINK_SECONDS[purpose]
    await repo.insert_link(
        sc, user_id, purpose=purpose, token_hash=_digest(token), now=at, expires_at=expires
    )
    return token, expires


async def open_link(conn: Connection, token: str) -> Row:
    """The unused, unexpired link ``token`` names (any workspace: the token is the key);
    404 otherwise, saying why."""
    link = await repo.find_link(conn, _digest(token))
    if link is None:
        raise NotFound("this link is not valid; ask for a new one")
    if link["used_at"] is not None:
        raise NotFound("this link was used already; ask for a new one")
    if link["expires_at"] < common.now():
        raise NotFound("this link has expired; ask for a new one")
    if not link["active"]:
        raise NotFound("this account is deactivated")
    return link


async def redeem_link(tx: Transaction, token: str, *, password: str | None) -> int:
    """Use a link once: set the password it asks for (invite, reset) and return its user's
    id, whose session the caller starts."""
    link = await open_link(tx, token)
    if link["purpose"] != "signin":
        if password is None:
            raise BadRequest("password: required")
        await set_password(Scope(tx, link["workspace_id"]), link["user_id"], password=password)
    if not await repo.use_link(tx, link["id"], now=common.now()):
        raise NotFound("this link was used already; ask for a new one")
    return int(link["user_id"])


async def _throttled(conn: Connection, key: str, limit: int, now_ms: int) -> None:
    count, oldest = await repo.count_failures(conn, key, since_ms=now_ms - FAILURE_WINDOW_MS)
    if count >= limit:
        wait = max(1, (oldest + FAILURE_WINDOW_MS - now_ms) // 1000)
        what = "this account" if key.startswith("email:") else "this address"
        raise TooManyRequests(
            f"too many failed sign-ins for {what}; try again in {(wait + 59) // 60} minute(s)"
        )


async def sign_in(db_tx: Transaction, *, email: str, password: str, client: str) -> list[int]:
    """The ids of the users this email and password sign in (across workspaces); none when
    they do not match (the failure is recorded in ``db_tx``: commit it, then answer 401);
    429 when the account or the client failed too often lately (not even checked then)."""
    try:
        address = normalize_email(email, field="email", lookup=True)
    except BadRequest:
        address = email.strip().lower()[:320]
    now_ms = common.now_ms()
    account, where = f"email:{address}", f"client:{client}"
    await _throttled(db_tx, account, ACCOUNT_FAILURES, now_ms)
    await _throttled(db_tx, where, CLIENT_FAILURES, now_ms)
    users = await repo.users_by_email(db_tx, address)
    matched: list[int] = []
    for user in users:
        if await _verify(user["password_hash"], password):
            matched.append(int(user["id"]))
    if not users:
        await _verify(_DUMMY, password)
    if not matched:
        await repo.record_failure(db_tx, [account, where], at_ms=now_ms, keep_ms=FAILURE_WINDOW_MS)
        return []
    await repo.clear_failures(db_tx, account)
    return matched


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A valid session: its row id, CSRF token and the users it holds."""

    id: int
    csrf: str
    user_ids: tuple[int, ...]


async def start_session(
    tx: Transaction, user_ids: list[int], *, max_seconds: int
) -> tuple[str, SessionInfo]:
    """A new session for ``user_ids``: the cookie's token (shown once) and the session."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    at = common.now()
    await repo.insert_session(
        tx,
        token_hash=_digest(token),
        csrf=csrf,
        users=",".join(str(i) for i in user_ids),
        now=at,
        expires_at=at + max_seconds,
    )
    found = await repo.find_session(tx, _digest(token))
    assert found is not None
    return token, SessionInfo(found["id"], csrf, tuple(user_ids))


async def valid_session(
    conn: Connection, token: str, *, idle_seconds: int
) -> tuple[SessionInfo | None, bool]:
    """The session of a cookie's token when it has not expired (idle or absolute), and
    whether its last-seen time is due to be written (``touch``)."""
    if not token or len(token) > 128:
        return None, False
    row = await repo.find_session(conn, _digest(token))
    if row is None:
        return None, False
    at = common.now()
    if row["expires_at"] <= at or row["seen_at"] + idle_seconds <= at:
        return None, False
    ids = tuple(int(p) for p in row["users"].split(",") if p)
    return SessionInfo(row["id"], row["csrf"], ids), row["seen_at"] + _TOUCH_SECONDS <= at


async def touch(tx: Transaction, session: SessionInfo) -> None:
    await repo.touch_session(tx, session.id, now=common.now())


async def end_session(tx: Transaction, session: SessionInfo) -> None:
    await repo.delete_session(tx, session.id)


async def session_users(conn: Connection, session: SessionInfo) -> list[Row]:
    """The session's users who are still active, with their workspaces."""
    return await repo.signed_in_users(conn, list(session.user_ids))


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


async def invite(
    sc: Scope[Transaction], *, email: str, first_name: str | None, role: str
) -> tuple[int, str, int]:
    """Add the user unless one has ``email``; (user id, link token, expiry): an invitation,
    or a password reset for a user who has a password already."""
    address = normalize_email(email)
    found = await space_repo.find_user(sc, address)
    if found is None:
        user = await space_users.create_user(
            sc,
            first_name=first_name or address.split("@")[0],
            last_name=None,
            email=address,
            role=role,
        )
        user_id = user.id
        purpose = "invite"
    else:
        user_id = int(found["id"])
        purpose = "reset" if found["has_password"] else "invite"
    token, expires = await issue_link(sc, user_id, purpose=purpose)
    return user_id, token, expires


def link_url(base: str, token: str) -> str:
    """Where a link token is used: ``{base}/app/link/{token}``."""
    return f"{base.rstrip('/')}/app/link/{token}"


async def user_by_email(sc: Scope[Connection], email: str) -> int:
    """The id of the workspace's user with ``email``; 404 when there is none."""
    found = await space_repo.find_user(sc, normalize_email(email, lookup=True))
    if found is None:
        raise NotFound(f"no user with email {email[:254]!r} in workspace {sc.ws}")
    return int(found["id"])
