"""API tokens: JWT-shaped (HS256) strings, of which only a SHA-256 hash is stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

__all__ = ["decode_unverified", "hash_token", "issue_jwt", "new_secret", "verify_jwt"]

_HEADER = {"alg": "HS256", "typ": "JWT"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_secret() -> str:
    """A fresh random signing key."""
    return secrets.token_urlsafe(48)


def hash_token(token: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_jwt(secret: str, payload: dict[str, Any]) -> str:
    """Sign ``payload`` as a compact HS256 JWT."""
    head = _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{head}.{body}".encode("ascii")
    sig = hmac.new(secret.encode("utf-8"), signing_input, hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def verify_jwt(secret: str, token: str) -> bool:
    """True when ``token`` is an HS256 JWT signed with ``secret``."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        header = json.loads(_unb64(parts[0]))
        sig = _unb64(parts[2])
    except (ValueError, UnicodeDecodeError):
        return False
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        return False
    expected = hmac.new(
        secret.encode("utf-8"), f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256
    ).digest()
    return hmac.compare_digest(sig, expected)


def decode_unverified(token: str) -> dict[str, Any] | None:
    """The payload of a JWT-shaped token, without checking it (for display only)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None
