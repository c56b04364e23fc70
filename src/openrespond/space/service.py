"""Rules for the workspace catalogue: workspaces, tokens, users, stages, notes, channels."""

from __future__ import annotations

import json
import secrets
from typing import Any

import msgspec

from openrespond.channels import settings as channel_settings
from openrespond.common import now
from openrespond.db import Connection, Database, IntegrityError, Row, Transaction
from openrespond.db.paging import Cursor, PageRows
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.net import Networks
from openrespond.sealing import Sealer
from openrespond.settings import Settings
from openrespond.space import repository as repo
from openrespond.space.schemas import CHANNEL_SOURCES, Channel, ClosingNote, Team, Template, User
from openrespond.tokens import hash_token, issue_jwt, new_secret
from openrespond.validation import clean, normalize_email

__all__ = [
    "DRIVERS",
    "ROLES",
    "add_closing_note",
    "add_lifecycle_stage",
    "channel_from_row",
    "check_channel_settings",
    "closing_note_from_row",
    "create_channel",
    "create_template",
    "create_user",
    "create_workspace",
    "ensure_static_token",
    "get_channel",
    "get_user",
    "has_approved_template",
    "issue_token",
    "load_secret",
    "require_workspace",
    "revoke_token",
    "template_from_row",
    "update_channel",
    "user_from_row",
]

ROLES = ("agent", "manager", "owner")
# Drivers this build ships; custom_channel and smtp are planned.
DRIVERS = ("sandbox", "custom_channel", "smtp")
TEMPLATE_STATUSES = ("approved", "pending", "rejected")


async def load_secret(db: Database, settings: Settings) -> str:
    """The token signing key: from configuration, else generated once and kept in the database."""
    if settings.secret_key:
        return settings.secret_key
    async with db.transaction() as tx:
        secret = await repo.get_meta(tx, "token_signing_key")
        if secret is None:
            secret = new_secret()
            await repo.set_meta(tx, "token_signing_key", secret)
    return secret


SERVER_NETWORKS = "server_allow_private_networks"


async def record_server_networks(db: Database, settings: Settings) -> None:
    """Keep in the database which non-public networks the server now running may reach, so
    that ``openrespond doctor``, run from another shell, judges endpoints as the server does."""
    value = json.dumps({"networks": settings.allow_private_networks, "since": now()})
    async with db.transaction() as tx:
        current = await repo.get_meta(tx, SERVER_NETWORKS)
        if current is None or json.loads(current)["networks"] != settings.allow_private_networks:
            await repo.set_meta(tx, SERVER_NETWORKS, value)


async def server_networks(conn: Connection) -> tuple[str, int] | None:
    """(networks, since when) the server last started with, if one has."""
    raw = await repo.get_meta(conn, SERVER_NETWORKS)
    if raw is None:
        return None
    found = json.loads(raw)
    return str(found["networks"]), int(found["since"])


async def require_workspace(conn: Connection, ws: int) -> Row:
    row = await repo.get_workspace(conn, ws)
    if row is None:
        raise NotFound(f"workspace {ws} not found")
    return row


async def create_workspace(tx: Transaction, *, name: str, is_demo: bool = False) -> int:
    """A new, empty workspace."""
    name = clean(name)
    if not 1 <= len(name) <= 255:
        raise BadRequest("name must be 1-255 characters")
    ts = now()
    org_id = secrets.randbelow(900_000) + 100_000
    return await repo.insert_workspace(tx, name=name, org_id=org_id, is_demo=is_demo, now=ts)


def _jwt_payload(*, token_id: int, ws: Row, kind: str, iat: int, nonce: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": token_id,
        "spaceId": ws["id"],
        "orgId": ws["org_id"],
        "type": kind,
        "iat": iat,
    }
    if nonce:
        payload["jti"] = secrets.token_urlsafe(16)
    return payload


async def issue_token(tx: Transaction, ws: int, *, name: str, secret: str) -> tuple[int, str]:
    """Issue a JWT-shaped token for ``ws``; only its hash is stored, so it is shown once."""
    name = clean(name)
    if not 1 <= len(name) <= 255:
        raise BadRequest("name must be 1-255 characters")
    workspace = await require_workspace(tx, ws)
    ts = now()
    token_id = await repo.insert_token(
        tx, ws, name=name, token_hash=f"pending:{secrets.token_hex(16)}", kind="jwt", now=ts
    )
    token = issue_jwt(
        secret,
        _jwt_payload(token_id=token_id, ws=workspace, kind="developer_api", iat=ts, nonce=True),
    )
    await repo.set_token_hash(tx, ws, token_id, hash_token(token))
    return token_id, token


async def demo_token(tx: Transaction, ws: int, *, secret: str) -> str:
    """The demo workspace's own token: derived from the signing key, so it is stable."""
    workspace = await require_workspace(tx, ws)
    row = await repo.find_token(tx, ws, name="demo", kind="jwt")
    if row is not None:
        payload = _jwt_payload(
            token_id=row["id"], ws=workspace, kind="demo", iat=row["created_at"], nonce=False
        )
        token = issue_jwt(secret, payload)
        if hash_token(token) == row["token_hash"]:
            return token
        await repo.revoke_token(tx, ws, row["id"], now())
    ts = now()
    token_id = await repo.insert_token(
        tx, ws, name="demo", token_hash=f"pending:{secrets.token_hex(16)}", kind="jwt", now=ts
    )
    token = issue_jwt(
        secret, _jwt_payload(token_id=token_id, ws=workspace, kind="demo", iat=ts, nonce=False)
    )
    await repo.set_token_hash(tx, ws, token_id, hash_token(token))
    return token


async def ensure_static_token(tx: Transaction, ws: int, *, token: str, name: str) -> None:
    """Make a configured string a token of ``ws`` (and the only one under ``name``)."""
    digest = hash_token(token)
    existing = await repo.token_by_hash(tx, digest)
    if existing is not None and existing["workspace_id"] != ws:
        raise Conflict(f"{name} is already a token of another workspace")
    for row in await repo.list_tokens(tx, ws):
        same_slot = row["name"] == name and row["kind"] == "static" and row["revoked_at"] is None
        if same_slot and (existing is None or row["id"] != existing["id"]):
            await repo.revoke_token(tx, ws, row["id"], now())
    if existing is None:
        await repo.insert_token(tx, ws, name=name, token_hash=digest, kind="static", now=now())


async def revoke_token(tx: Transaction, ws: int, token_id: int) -> None:
    await require_workspace(tx, ws)
    if not await repo.revoke_token(tx, ws, token_id, now()):
        raise NotFound(f"token {token_id} not found or already revoked")


def user_from_row(row: Row) -> User:
    team = Team(row["team_id"], row["team_name"]) if row["team_id"] is not None else None
    return User(
        id=row["id"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        email=row["email"],
        role=row["role"],
        team=team,
        restrictions=json.loads(row["restrictions"]),
    )


async def create_user(
    tx: Transaction,
    ws: int,
    *,
    first_name: str,
    last_name: str | None,
    email: str,
    role: str,
    team: str | None = None,
    restrictions: list[str] | None = None,
) -> User:
    """Add a member; 409 when the email is taken in this workspace."""
    await require_workspace(tx, ws)
    if not 1 <= len(clean(first_name)) <= 255:
        raise BadRequest("firstName must be 1-255 characters")
    if last_name is not None and len(last_name) > 255:
        raise BadRequest("lastName must be at most 255 characters")
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    address = normalize_email(email)
    if await repo.find_user(tx, ws, address) is not None:
        raise Conflict(f"a user with email {address} already exists")
    team_id = None
    if team:
        if len(team) > 255:
            raise BadRequest("team must be at most 255 characters")
        team_id = await repo.upsert_team(tx, ws, clean(team))
    user_id = await repo.insert_user(
        tx,
        ws,
        first_name=clean(first_name),
        last_name=last_name,
        email=address,
        role=role,
        team_id=team_id,
        restrictions=json.dumps(restrictions or []),
        created_at=now(),
    )
    return await get_user(tx, ws, user_id)


async def get_user(conn: Connection, ws: int, user_id: int) -> User:
    row = await repo.get_user(conn, ws, user_id)
    if row is None:
        raise NotFound(f"user {user_id} not found")
    return user_from_row(row)


async def delete_user(tx: Transaction, ws: int, user_id: int) -> None:
    if not await repo.delete_user(tx, ws, user_id):
        raise NotFound(f"user {user_id} not found")


async def add_lifecycle_stage(tx: Transaction, ws: int, name: str) -> int:
    await require_workspace(tx, ws)
    name = clean(name)
    if not 1 <= len(name) <= 255:
        raise BadRequest("name must be 1-255 characters")
    if await repo.get_lifecycle_stage_by_name(tx, ws, name) is not None:
        raise Conflict(f"lifecycle stage {name!r} already exists")
    return await repo.insert_lifecycle_stage(tx, ws, name, now())


async def remove_lifecycle_stage(tx: Transaction, ws: int, name: str) -> None:
    if not await repo.delete_lifecycle_stage(tx, ws, name):
        raise NotFound(f"lifecycle stage {name!r} not found")


def closing_note_from_row(row: Row) -> ClosingNote:
    return ClosingNote(category=row["category"], description=row["description"])


async def add_closing_note(
    tx: Transaction, ws: int, *, category: str, description: str = ""
) -> int:
    await require_workspace(tx, ws)
    category = clean(category)
    if not 1 <= len(category) <= 128:
        raise BadRequest("category must be 1-128 characters")
    if len(description) > 512:
        raise BadRequest("description must be at most 512 characters")
    try:
        return await repo.insert_closing_note(tx, ws, category, description, now())
    except IntegrityError:
        raise Conflict(f"closing-note category {category!r} already exists") from None


async def remove_closing_note(tx: Transaction, ws: int, category: str) -> None:
    if not await repo.delete_closing_note(tx, ws, category):
        raise NotFound(f"closing-note category {category!r} not found")


def channel_from_row(row: Row) -> Channel:
    return Channel(
        id=row["id"], name=row["name"], source=row["source"], created_at=row["created_at"]
    )


async def create_channel(
    tx: Transaction,
    ws: int,
    *,
    name: str,
    source: str,
    driver: str = "sandbox",
    settings: dict[str, Any] | None = None,
    channel_id: int | None = None,
    sealer: Sealer | None = None,
    networks: Networks | None = None,
) -> Row:
    """A workspace channel with the ``source`` clients see and the ``driver`` that delivers
    (its settings checked, secrets sealed with ``sealer``; a bridge or SMTP server must be
    reachable under ``networks``)."""
    await require_workspace(tx, ws)
    name = clean(name)
    if not 1 <= len(name) <= 255:
        raise BadRequest("name must be 1-255 characters")
    if source not in CHANNEL_SOURCES:
        raise BadRequest(f"source must be one of {', '.join(CHANNEL_SOURCES)}, got {source!r}")
    if driver not in DRIVERS:
        raise BadRequest(f"driver must be one of {', '.join(DRIVERS)}, got {driver!r}")
    if channel_id is not None and not 0 < channel_id < 2**53:
        raise BadRequest("id must be a positive integer")
    stored = channel_settings.prepare(driver, source, settings, sealer=sealer)
    # Addresses only: names were looked up before the transaction (check_channel_settings).
    await channel_settings.check_reachable(driver, stored, networks, lookup=False)
    try:
        new_id = await repo.insert_channel(
            tx,
            ws,
            id=channel_id,
            name=name,
            source=source,
            driver=driver,
            settings=json.dumps(stored),
            created_at=now(),
        )
    except IntegrityError:
        raise Conflict(f"channel id {channel_id} is already taken") from None
    row = await repo.get_channel(tx, ws, new_id)
    assert row is not None
    return row


async def check_channel_settings(
    conn: Connection,
    ws: int,
    *,
    settings: dict[str, Any] | None,
    networks: Networks,
    driver: str | None = None,
    channel_id: int | None = None,
) -> None:
    """Look up where new delivery settings point (the bridge's or SMTP server's name), before
    the write transaction that stores them begins: a lookup can take seconds. The driver is
    given (a new channel) or read (channel ``channel_id``; one that does not exist is left to
    the write to answer)."""
    if driver is None and channel_id is not None:
        row = await repo.get_channel(conn, ws, channel_id)
        driver = None if row is None else row["driver"]
    if driver is not None:
        await channel_settings.check_reachable(driver, settings, networks, lookup=True)


async def get_channel(conn: Connection, ws: int, channel_id: int) -> Row:
    row = await repo.get_channel(conn, ws, channel_id)
    if row is None:
        raise NotFound(f"channel {channel_id} not found")
    return row


async def update_channel(
    tx: Transaction,
    ws: int,
    channel_id: int,
    *,
    name: str | None = None,
    settings: dict[str, Any] | None = None,
    sealer: Sealer | None = None,
    networks: Networks | None = None,
) -> Row:
    """Rename a channel or replace its delivery settings; its source and driver stay, and a
    secret the new settings leave out keeps its value. A bridge or SMTP server must be
    reachable under ``networks``."""
    if name is not None:
        name = clean(name)
        if not 1 <= len(name) <= 255:
            raise BadRequest("name must be 1-255 characters")
    encoded = None
    if settings is not None:
        # Locked: a concurrent change of the same channel waits, and a secret it set is kept.
        current = await repo.get_channel(tx, ws, channel_id, for_update=True)
        if current is None:
            raise NotFound(f"channel {channel_id} not found")
        stored = channel_settings.prepare(
            current["driver"],
            current["source"],
            settings,
            sealer=sealer,
            current=json.loads(current["settings"] or "{}"),
        )
        await channel_settings.check_reachable(current["driver"], stored, networks, lookup=False)
        encoded = json.dumps(stored)
    if not await repo.update_channel(tx, ws, channel_id, name=name, settings=encoded):
        raise NotFound(f"channel {channel_id} not found")
    return await get_channel(tx, ws, channel_id)


async def delete_channel(tx: Transaction, ws: int, channel_id: int) -> None:
    if not await repo.delete_channel(tx, ws, channel_id):
        raise NotFound(f"channel {channel_id} not found")


async def has_approved_template(
    conn: Connection, ws: int, channel_id: int, *, name: str, language_code: str
) -> bool:
    """Whether the channel has an approved template of that name and language."""
    return await repo.approved_template_exists(
        conn, ws, channel_id, name=name, language_code=language_code
    )


def template_from_row(row: Row) -> Template:
    return Template(
        id=row["id"],
        name=row["name"],
        channel_id=row["channel_id"],
        language_code=row["language_code"],
        category=row["category"],
        status=row["status"],
        components=json.loads(row["components"]),
        created_at=row["created_at"],
    )


async def create_template(
    tx: Transaction,
    ws: int,
    *,
    channel_id: int,
    name: str,
    language_code: str,
    category: str = "UTILITY",
    status: str = "approved",
    components: list[dict[str, Any]] | None = None,
) -> Template:
    """A message template on one of the workspace's channels."""
    await get_channel(tx, ws, channel_id)
    if not 1 <= len(name) <= 512:
        raise BadRequest("name must be 1-512 characters")
    if not 2 <= len(language_code) <= 16:
        raise BadRequest("languageCode must be 2-16 characters")
    if status not in TEMPLATE_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(TEMPLATE_STATUSES)}")
    if not 1 <= len(category) <= 64:
        raise BadRequest("category must be 1-64 characters")
    try:
        template_id = await repo.insert_template(
            tx,
            ws,
            channel_id=channel_id,
            name=name,
            language_code=language_code,
            category=category,
            status=status,
            components=msgspec.json.encode(components or []).decode(),
            created_at=now(),
        )
    except IntegrityError:
        raise Conflict(
            f"template {name!r} ({language_code}) already exists on this channel"
        ) from None
    row = await repo.get_template(tx, ws, template_id)
    assert row is not None
    return template_from_row(row)


async def delete_template(tx: Transaction, ws: int, template_id: int) -> None:
    if not await repo.delete_template(tx, ws, template_id):
        raise NotFound(f"template {template_id} not found")


async def page_templates(conn: Connection, ws: int, channel_id: int, cursor: Cursor) -> PageRows:
    await get_channel(conn, ws, channel_id)
    return await repo.page_templates(conn, ws, channel_id, cursor)
