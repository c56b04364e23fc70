"""API tokens of a workspace: issued (shown once), derived for the demo, configured, revoked."""

from __future__ import annotations

import secrets
from typing import Any

from openrespond.common import now
from openrespond.db import Connection, Row, Scope, Transaction
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.space import repository as repo
from openrespond.space.schemas import (
    TokenInfo,
)
from openrespond.space.workspaces import existing
from openrespond.tokens import hash_token, issue_jwt
from openrespond.validation import clean

__all__ = [
    "demo_token",
    "ensure_static_token",
    "issue_token",
    "list_tokens",
    "revoke_token",
    "token_from_row",
]


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


async def issue_token(sc: Scope[Transaction], *, name: str, secret: str) -> tuple[int, str]:
    """Issue a JWT-shaped token for ``ws``; only its hash is stored, so it is shown once."""
    name = clean(name)
    if not 1 <= len(name) <= 255:
        raise BadRequest("name must be 1-255 characters")
    workspace = await existing(sc)
    ts = now()
    token_id = await repo.insert_token(
        sc, name=name, token_hash=f"pending:{secrets.token_hex(16)}", kind="jwt", now=ts
    )
    token = issue_jwt(
        secret,
        _jwt_payload(token_id=token_id, ws=workspace, kind="developer_api", iat=ts, nonce=True),
    )
    await repo.set_token_hash(sc, token_id, token_hash=hash_token(token))
    return token_id, token


async def demo_token(sc: Scope[Transaction], *, secret: str) -> str:
    """The demo workspace's own token: derived from the signing key, so it is stable."""
    workspace = await existing(sc)
    row = await repo.find_token(sc, name="demo", kind="jwt")
    if row is not None:
        payload = _jwt_payload(
            token_id=row["id"], ws=workspace, kind="demo", iat=row["created_at"], nonce=False
        )
        token = issue_jwt(secret, payload)
        if hash_token(token) == row["token_hash"]:
            return token
        await repo.revoke_token(sc, row["id"], now=now())
    ts = now()
    token_id = await repo.insert_token(
        sc, name="demo", token_hash=f"pending:{secrets.token_hex(16)}", kind="jwt", now=ts
    )
    token = issue_jwt(
        secret, _jwt_payload(token_id=token_id, ws=workspace, kind="demo", iat=ts, nonce=False)
    )
    await repo.set_token_hash(sc, token_id, token_hash=hash_token(token))
    return token


async def ensure_static_token(sc: Scope[Transaction], *, token: str, name: str) -> None:
    """Make a configured string a token of ``ws`` (and the only one under ``name``)."""
    digest = hash_token(token)
    existing = await repo.token_by_hash(sc.conn, digest)
    if existing is not None and existing["workspace_id"] != sc.ws:
        raise Conflict(f"{name} is already a token of another workspace")
    for row in await repo.list_tokens(sc):
        same_slot = row["name"] == name and row["kind"] == "static" and row["revoked_at"] is None
        if same_slot and (existing is None or row["id"] != existing["id"]):
            await repo.revoke_token(sc, row["id"], now=now())
    if existing is None:
        await repo.insert_token(sc, name=name, token_hash=digest, kind="static", now=now())
    elif existing["revoked_at"] is not None:
        # Configured again after another value replaced it: the configuration is the truth.
        await repo.restore_token(sc, existing["id"])


async def revoke_token(sc: Scope[Transaction], token_id: int) -> None:
    await existing(sc)
    if not await repo.revoke_token(sc, token_id, now=now()):
        raise NotFound(f"token {token_id} not found or already revoked")


def token_from_row(row: Row) -> TokenInfo:
    return TokenInfo(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_ms"] // 1000 if row["last_used_ms"] is not None else None,
    )


async def list_tokens(sc: Scope[Connection]) -> list[TokenInfo]:
    """The workspace's tokens (names and dates; never the tokens)."""
    await existing(sc)
    return [token_from_row(r) for r in await repo.list_tokens(sc)]
