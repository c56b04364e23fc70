"""Bearer-token authentication for ``/v2`` (workspace tokens) and ``/control`` (also admin)."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from openrespond.db import Database
from openrespond.tokens import hash_token, verify_jwt

__all__ = ["Authenticator", "Principal", "bearer_token"]

_CACHE_SECONDS = 2.0
_CACHE_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a workspace token, or the administrator."""

    workspace_id: int | None
    token_id: int | None
    admin: bool = False


ADMIN = Principal(None, None, admin=True)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 4096:
        return None
    return token


class Authenticator:
    """Looks tokens up by hash, with a short cache so revocation takes effect within seconds."""

    def __init__(self, db: Database, *, secret: str, admin_token: str | None) -> None:
        self._db = db
        self._secret = secret
        self._admin = admin_token
        self._cache: dict[str, tuple[Principal | None, float]] = {}

    def is_admin(self, token: str) -> bool:
        return self._admin is not None and hmac.compare_digest(
            token.encode("utf-8"), self._admin.encode("utf-8")
        )

    def forget(self) -> None:
        """Drop cached answers (after a token is revoked in this process)."""
        self._cache.clear()

    async def authenticate(self, token: str) -> Principal | None:
        """The workspace principal of ``token``, or None when unknown or revoked."""
        now = time.monotonic()
        hit = self._cache.get(token)
        if hit is not None and hit[1] > now:
            return hit[0]
        digest = hash_token(token)
        row = await self._db.reader().fetch_one(
            "SELECT id, workspace_id, kind FROM api_tokens"
            " WHERE token_hash = ? AND revoked_at IS NULL",
            digest,
        )
        principal = None
        if row is not None and (row["kind"] != "jwt" or verify_jwt(self._secret, token)):
            principal = Principal(row["workspace_id"], row["id"])
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[token] = (principal, now + _CACHE_SECONDS)
        return principal
