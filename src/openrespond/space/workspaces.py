"""Workspaces, the server's signing key and what the running server recorded about itself."""

from __future__ import annotations

import json
import secrets

from openrespond.common import now
from openrespond.db import Connection, Database, Row, Scope, Transaction
from openrespond.errors import BadRequest, NotFound
from openrespond.settings import Settings
from openrespond.space import repository as repo
from openrespond.space.schemas import (
    Workspace,
)
from openrespond.tokens import new_secret
from openrespond.validation import clean

__all__ = [
    "SERVER_NETWORKS",
    "create_workspace",
    "delete_workspace",
    "existing",
    "get_workspace",
    "list_workspaces",
    "load_secret",
    "record_server_networks",
    "server_networks",
    "workspace_from_row",
]


async def load_secret(db: Database, settings: Settings) -> str:
    """The token signing key: from configuration, else generated once and kept in the database."""
    if settings.secret_key:
        return settings.secret_key
    async with db.transaction() as tx:
        secret = await repo.get_meta(tx, "token_signing_key")
        if secret is None:
            secret = new_secret()
            await repo.set_meta(tx, "token_signing_key", value=secret)
    return secret


SERVER_NETWORKS = "server_allow_private_networks"


async def record_server_networks(db: Database, settings: Settings) -> None:
    """Keep in the database which non-public networks the server now running may reach, so
    that ``openrespond doctor``, run from another shell, judges endpoints as the server does."""
    value = json.dumps({"networks": settings.allow_private_networks, "since": now()})
    async with db.transaction() as tx:
        current = await repo.get_meta(tx, SERVER_NETWORKS)
        if current is None or json.loads(current)["networks"] != settings.allow_private_networks:
            await repo.set_meta(tx, SERVER_NETWORKS, value=value)


async def server_networks(conn: Connection) -> tuple[str, int] | None:
    """(networks, since when) the server last started with, if one has."""
    raw = await repo.get_meta(conn, SERVER_NETWORKS)
    if raw is None:
        return None
    found = json.loads(raw)
    return str(found["networks"]), int(found["since"])


async def existing(sc: Scope[Connection]) -> Row:
    row = await repo.get_workspace(sc)
    if row is None:
        raise NotFound(f"workspace {sc.ws} not found")
    return row


async def create_workspace(tx: Transaction, *, name: str, is_demo: bool = False) -> int:
    """A new, empty workspace."""
    name = clean(name)
    if not 1 <= len(name) <= 255:
        raise BadRequest("name must be 1-255 characters")
    ts = now()
    org_id = secrets.randbelow(900_000) + 100_000
    return await repo.insert_workspace(tx, name=name, org_id=org_id, is_demo=is_demo, now=ts)


def workspace_from_row(row: Row) -> Workspace:
    return Workspace(
        id=row["id"],
        name=row["name"],
        org_id=row["org_id"],
        demo=bool(row["is_demo"]),
        created_at=row["created_at"],
    )


async def get_workspace(sc: Scope[Connection]) -> Workspace:
    return workspace_from_row(await existing(sc))


async def list_workspaces(conn: Connection) -> list[Workspace]:
    return [workspace_from_row(r) for r in await repo.list_workspaces(conn)]


async def delete_workspace(sc: Scope[Transaction]) -> None:
    """Delete a workspace and everything in it."""
    if not await repo.delete_workspace(sc):
        raise NotFound(f"workspace {sc.ws} not found")
