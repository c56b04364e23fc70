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

__all__ = [
    "ROLES",
    "change_member",
    "create_user",
    "delete_user",
    "get_user",
    "list_users",
    "members",
    "user_from_row",
]


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


async def change_member(
    sc: Scope[Transaction], user_id: int, *, role: str | None = None, active: bool | None = None
) -> User:
    """Change a user's role, or deactivate (their sessions end at once: a session only counts
    active users) or reactivate them. 409 when it would leave the workspace without an active
    owner."""
    if role is not None and role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    owners = {r["id"] for r in await repo.lock_owners(sc)}
    current = await repo.get_user(sc, user_id)
    if current is None:
        raise NotFound(f"user {user_id} not found")
    stops_owning = user_id in owners and (active is False or (role is not None and role != "owner"))
    if stops_owning and owners == {user_id}:
        raise Conflict(
            f"user {user_id} is the workspace's only active owner: make another user owner first"
        )
    await repo.update_member(sc, user_id, role=role, active=active)
    return await get_user(sc, user_id)


async def members(sc: Scope[Connection]) -> list[Row]:
    """The users with what the settings page shows beside the API's fields: whether they
    are active and have a password."""
    await existing(sc)
    return await repo.all_users(sc)
