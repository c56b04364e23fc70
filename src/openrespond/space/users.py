"""Users (members) of a workspace."""

from __future__ import annotations

import json

from openrespond.common import now
from openrespond.db import Connection, Row, Scope, Transaction
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.space import repository as repo
from openrespond.space.schemas import (
    Team,
    User,
)
from openrespond.space.workspaces import existing
from openrespond.validation import clean, normalize_email

__all__ = ["ROLES", "create_user", "delete_user", "get_user", "list_users", "user_from_row"]


ROLES = ("agent", "manager", "owner")


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
    sc: Scope[Transaction],
    *,
    first_name: str,
    last_name: str | None,
    email: str,
    role: str,
    team: str | None = None,
    restrictions: list[str] | None = None,
) -> User:
    """Add a member; 409 when the email is taken in this workspace."""
    await existing(sc)
    if not 1 <= len(clean(first_name)) <= 255:
        raise BadRequest("firstName must be 1-255 characters")
    if last_name is not None and len(last_name) > 255:
        raise BadRequest("lastName must be at most 255 characters")
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    address = normalize_email(email)
    if await repo.find_user(sc, address) is not None:
        raise Conflict(f"a user with email {address} already exists")
    team_id = None
    if team:
        if len(team) > 255:
            raise BadRequest("team must be at most 255 characters")
        team_id = await repo.upsert_team(sc, clean(team))
    user_id = await repo.insert_user(
        sc,
        first_name=clean(first_name),
        last_name=last_name,
        email=address,
        role=role,
        team_id=team_id,
        restrictions=json.dumps(restrictions or []),
        created_at=now(),
    )
    return await get_user(sc, user_id)


async def get_user(sc: Scope[Connection], user_id: int) -> User:
    row = await repo.get_user(sc, user_id)
    if row is None:
        raise NotFound(f"user {user_id} not found")
    return user_from_row(row)


async def delete_user(sc: Scope[Transaction], user_id: int) -> None:
    if not await repo.delete_user(sc, user_id):
        raise NotFound(f"user {user_id} not found")


async def list_users(sc: Scope[Connection]) -> list[User]:
    await existing(sc)
    return [user_from_row(r) for r in await repo.all_users(sc)]
