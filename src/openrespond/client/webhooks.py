"""Checking the webhooks respond.io or openrespond posts to you."""

from __future__ import annotations

from collections.abc import Mapping

from openrespond.webhooks.signing import SignatureError, verify

__all__ = ["SignatureError", "verify_webhook"]


def verify_webhook(
    signing_key: str, headers: Mapping[str, str], body: bytes, *, tolerance: int = 300
) -> str:
    """Check a received webhook's signature against the raw body; the scheme that verified
    (``standard`` for the Standard Webhooks headers, ``respondio`` for
    ``X-Webhook-Signature``). Raises ``SignatureError`` otherwise. ``headers`` must be
    case-insensitive, as web frameworks' are."""
    return verify(signing_key, headers, body, tolerance=tolerance)
