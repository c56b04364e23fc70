"""Secrets the server must use again (webhook signing keys, SMTP passwords, bridge tokens),
stored encrypted with AES-256-GCM under a key derived from the server's secret key.

Set ``OPENRESPOND_SECRET_KEY`` to keep that key outside the database; otherwise it is generated
once and kept in the database, which still keeps secrets out of API answers, logs and dumps
of single tables, but not from whoever holds the whole database file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["SealError", "Sealer"]

_PREFIX = "v1:"


class SealError(Exception):
    """A sealed value that this key cannot open (another server key, or tampered with)."""


class Sealer:
    """Seals and opens short strings; ``purpose`` binds a value to where it is stored."""

    __slots__ = ("_aead",)

    def __init__(self, server_secret: str) -> None:
        key = hmac.new(server_secret.encode(), b"openrespond sealing v1", hashlib.sha256).digest()
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, purpose: str) -> str:
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, plaintext.encode(), purpose.encode())
        return _PREFIX + base64.urlsafe_b64encode(nonce + ct).decode()

    def open(self, sealed: str, *, purpose: str) -> str:
        if not sealed.startswith(_PREFIX):
            raise SealError("not a sealed value")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(_PREFIX) :])
            return self._aead.decrypt(raw[:12], raw[12:], purpose.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise SealError("the sealed value does not open with this server's key") from exc
