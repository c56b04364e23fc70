"""API tokens: JWT-shaped (HS256, signed with PyJWT) strings, of which only a SHA-256 hash is
stored. The hash lookup decides who a token is; the signature check is a second lock."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any

import jwt

if TYPE_CHECKING:
    from jwt.types import Options

__all__ = ["decode_unverified", "hash_token", "issue_jwt", "new_secret", "verify_jwt"]

# The claims are respond.io's ({id, spaceId, orgId, type, iat}); none of them expires a token
# (revocation does), so only the signature and the algorithm are checked.
_CHECKS: Options = {"verify_signature": True, "verify_exp": False, "verify_iat": False}


def new_secret() -> str:
    """A fresh random signing key."""
    return secrets.token_urlsafe(48)


def hash_token(token: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_jwt(secret: str, payload: dict[str, Any]) -> str:
    """Sign ``payload`` as a compact HS256 JWT. Its claims are written in name order, so the
    same payload and key always make the same token (the demo token is derived so)."""
    return jwt.encode(dict(sorted(payload.items())), secret, algorithm="HS256")


def verify_jwt(secret: str, token: str) -> bool:
    """True when ``token`` is an HS256 JWT signed with ``secret``."""
    try:
        jwt.decode(token, secret, algorithms=["HS256"], options=_CHECKS)
    except jwt.InvalidTokenError:
        return False
    return True


def decode_unverified(token: str) -> dict[str, Any] | None:
    """The payload of a JWT-shaped token, without checking it (for display only)."""
    try:
        payload = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    return payload if isinstance(payload, dict) else None
