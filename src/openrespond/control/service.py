"""Control-API operations that are more than one repository call."""

from __future__ import annotations

from openrespond.control.schemas import LifecycleStage, TokenInfo, Workspace
from openrespond.custom_fields import repository as fields_repo
from openrespond.db import Connection, Row, Transaction
from openrespond.errors import NotFound
from openrespond.space import repository as repo
from openrespond.space.service import require_workspace
from openrespond.tags import repository as tags_repo

__all__ = [
    "delete_custom_field",
    "delete_tag_by_name",
    "delete_workspace",
    "get_workspace",
    "lifecycle_stages",
    "tokens",
    "workspace_from_row",
    "workspaces",
]


def workspace_from_row(row: Row) -> Workspace:
    return Workspace(
        id=row["id"],
        name=row["name"],
        org_id=row["org_id"],
        demo=bool(row["is_demo"]),
        created_at=row["created_at"],
    )


async def get_workspace(conn: Connection, ws: int) -> Workspace:
    return workspace_from_row(await require_workspace(conn, ws))


async def workspaces(conn: Connection) -> list[Workspace]:
    return [workspace_from_row(r) for r in await repo.list_workspaces(conn)]


async def delete_workspace(tx: Transaction, ws: int) -> None:
    """Delete a workspace and everything in it."""
    if not await repo.delete_workspace(tx, ws):
        raise NotFound(f"workspace {ws} not found")


async def tokens(conn: Connection, ws: int) -> list[TokenInfo]:
    await require_workspace(conn, ws)
    return [
        TokenInfo(
            id=r["id"],
            name=r["name"],
            kind=r["kind"],
            created_at=r["created_at"],
            revoked_at=r["revoked_at"],
        )
        for r in await repo.list_tokens(conn, ws)
    ]


async def lifecycle_stages(conn: Connection, ws: int) -> list[LifecycleStage]:
    await require_workspace(conn, ws)
    return [
        LifecycleStage(id=r["id"], name=r["name"], position=r["position"])
        for r in await repo.list_lifecycle_stages(conn, ws)
    ]


async def delete_custom_field(tx: Transaction, ws: int, field_id: int) -> None:
    """Delete a definition and every contact's value for it."""
    if not await fields_repo.delete(tx, ws, field_id):
        raise NotFound(f"custom field {field_id} not found")


async def delete_tag_by_name(tx: Transaction, ws: int, name: str) -> None:
    row = await tags_repo.by_name(tx, ws, name)
    if row is None:
        raise NotFound(f"tag {name!r} not found")
    await tags_repo.delete(tx, ws, row["id"])
