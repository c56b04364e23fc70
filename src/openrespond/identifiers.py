"""Contact identifiers (``id:123``, ``email:ada@example.com``, ``phone:+60123456789``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from openrespond.errors import BadRequest
from openrespond.validation import normalize_email, normalize_phone

__all__ = ["Identifier", "parse_identifier"]

_MAX_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Identifier:
    """A parsed, normalised identifier: ``kind`` and its ``value`` (int for ids)."""

    kind: Literal["id", "email", "phone"]
    value: int | str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def parse_identifier(raw: str) -> Identifier:
    """Parse a path segment (the server has already percent-decoded it once, so
    ``email%3Aada%40example.com`` arrives here as ``email:ada@example.com``); ``+`` stays a plus.
    """
    kind, sep, value = raw.partition(":")
    if not sep or not value:
        raise BadRequest(
            f"identifier must be id:<number>, email:<address> or phone:<E.164>, got {raw[:80]!r}"
        )
    kind = kind.strip().lower()
    if kind == "id":
        if not value.isascii() or not value.isdigit() or not 0 < int(value) <= _MAX_ID:
            raise BadRequest(f"identifier id must be a positive integer, got {value[:80]!r}")
        return Identifier("id", int(value))
    if kind == "email":
        return Identifier("email", normalize_email(value, field="identifier email", lookup=True))
    if kind == "phone":
        return Identifier("phone", normalize_phone(value, field="identifier phone"))
    raise BadRequest(f"identifier type must be id, email or phone, got {kind[:20]!r}")
