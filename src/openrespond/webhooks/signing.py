"""Webhook signatures, both ways a receiver may check them.

- respond.io's: ``X-Webhook-Signature: base64(HMAC-SHA256(key, raw body))``, the key being the
  signing key exactly as shown (its UTF-8 bytes).
- Standard Webhooks (standardwebhooks.com): ``webhook-id``, ``webhook-timestamp`` and
  ``webhook-signature: v1,<base64(HMAC-SHA256(secret, "id.timestamp.body"))>``, where for a key
  ``whsec_<base64>`` the secret is the decoded bytes (what the Standard Webhooks libraries do)
  and for any other key its UTF-8 bytes.

Generated keys have the ``whsec_`` form, so one key verifies both with off-the-shelf code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

__all__ = [
    "SignatureError",
    "new_key",
    "respondio_signature",
    "sign_headers",
    "standard_signature",
    "verify",
]

TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """A webhook request whose signature does not verify."""


def new_key() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _standard_secret(key: str) -> bytes:
    if key.startswith("whsec_"):
        try:
            return base64.b64decode(key[6:], validate=True)
        except (binascii.Error, ValueError):
            pass
    return key.encode()


def respondio_signature(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def standard_signature(key: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(_standard_secret(key), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def sign_headers(
    key: str, msg_id: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The headers that sign one delivery attempt."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Webhook-Signature": respondio_signature(key, body),
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": standard_signature(key, msg_id, ts, body),
    }


def verify(
    key: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> str:
    """Check a received webhook; the scheme that verified (``standard`` or ``respondio``).

    The Standard Webhooks signature is preferred when present (it also binds the id and a
    timestamp within ``tolerance`` seconds, against replays); otherwise respond.io's.
    ``headers`` lookups must be case-insensitive (as httpx's and most frameworks' are).
    """
    msg_id, ts, sigs = (
        headers.get("webhook-id"),
        headers.get("webhook-timestamp"),
        headers.get("webhook-signature"),
    )
    if msg_id and ts and sigs:
        try:
            stamp = int(ts)
        except ValueError:
            raise SignatureError("webhook-timestamp is not a number") from None
        current = int(time.time()) if now is None else now
        if abs(current - stamp) > tolerance:
            raise SignatureError("webhook-timestamp is too far from now")
        expected = standard_signature(key, msg_id, stamp, body)
        for candidate in sigs.split():
            if hmac.compare_digest(candidate, expected):
                return "standard"
        raise SignatureError("webhook-signature does not match")
    given = headers.get("X-Webhook-Signature") or headers.get("x-webhook-signature")
    if given:
        if hmac.compare_digest(given, respondio_signature(key, body)):
            return "respondio"
        raise SignatureError("X-Webhook-Signature does not match")
    raise SignatureError("no signature headers")
